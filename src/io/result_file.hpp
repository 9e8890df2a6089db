#pragma once
/// The result file, schema 1 (src/io/schema.md). Files are always written
/// whole to a temporary name, flushed to disk and renamed, so a reader never sees a half-written
/// file and a crash during a write leaves the previous version intact.
#include "core/model_record.hpp"

#include <Eigen/Core>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace icl {

inline constexpr std::int64_t schema_version = 1;

/// Every file this program writes is sealed: its first `seal_bytes` (an HDF5 user block, which
/// every HDF5 reader skips) hold `seal_magic`, then "crc32 <8 hex digits>\nbytes <length>\n" (the
/// CRC-32 and length of everything after the block), then zeros. Readers verify the seal before
/// HDF5 sees the bytes: any single damaged bit, and nearly every larger damage, is found, never
/// parsed. Files written before seals existed start with HDF5's signature and are read unverified.
inline constexpr std::size_t seal_bytes = 512;
inline constexpr std::string_view seal_magic = "icl-study result file\n";

/// CRC-32 (zlib's) of `size` bytes: the seal's and the journal's checksum.
std::uint32_t crc32_of(const std::uint8_t* data, std::size_t size);

/// Which sealed file a journal extends (result_journal.hpp): its seal's CRC-32 and length.
/// `sealed` is false for files written before seals existed (they never have a journal).
struct SealIdentity {
  std::uint32_t crc = 0;
  std::uint64_t bytes = 0;
  bool sealed = false;
  bool operator==(const SealIdentity&) const = default;
};

/// The Slurm job variables a result file records (as attributes slurm_<NAME>) when run under Slurm.
inline constexpr std::array<const char*, 3> slurm_variables = {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID",
                                                               "SLURM_ARRAY_TASK_ID"};

struct Provenance {
  std::string program = "icl-study";
  std::string version;
  std::string git_commit;
  std::string created;  ///< ISO 8601 UTC
  std::string config;   ///< the TOML text
  std::string study;    ///< [study] name
  std::int64_t seed = 0;
  std::int64_t mpi_ranks = 1;
  std::int64_t omp_threads = 1;
  std::string rng;
  std::string hostname;
  std::string shard = "0/1";  ///< I/K of a sharded run; "0/1" for a whole run or a merge
  std::map<std::string, std::string> slurm;  ///< SLURM_JOB_ID etc., when run under Slurm
};

/// /points/status.
namespace point_status {
constexpr std::uint8_t pending = 0;
constexpr std::uint8_t done = 1;
/// Not evaluated, and never to be: successive halving dropped the point's model.
constexpr std::uint8_t eliminated = 2;
}  // namespace point_status

/// One row per grid point.
struct PointTable {
  std::vector<std::int64_t> dim, train_length, test_length;
  std::vector<std::string> shift, covariance, task;
  std::vector<std::string> model;  ///< "lsa", "lsa-L" or "softmax-L-H" (the grid axis `model`)
  /// How the point's model was trained (NaN, 0 or "" where a value does not apply): the sweep
  /// variant's label, the replicate, and each hyperparameter; the model is /models/<model_key>.
  std::vector<std::string> training;
  std::vector<std::int64_t> replicate;
  std::vector<std::string> optimiser;
  std::vector<double> learning_rate;
  std::vector<std::int64_t> batch, steps;
  std::vector<double> warmup_fraction;
  std::vector<std::string> schedule;
  std::vector<std::int64_t> decay_every;
  std::vector<double> decay_factor, sigma;
  std::vector<std::string> init, model_key;
  std::vector<std::uint8_t> status;       ///< point_status: 0 pending, 1 done, 2 eliminated
  std::vector<double> seconds;            ///< wall time of the point's evaluation (0 while pending)
  std::vector<double> estimated_seconds;  ///< the partition's cost model for the point
  std::vector<std::string> theory_source;  ///< "closed-form", "monte-carlo" or "none"
  std::vector<std::string> sampler;        ///< "plain" or "sufficient" (the estimator of the point)
  std::size_t size() const { return status.size(); }
};

/// What files from before a column existed hold in it throughout.
namespace absent {
inline const std::string lsa = "lsa", plain = "plain", none;
inline constexpr std::int64_t zero = 0;
inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();
}  // namespace absent

/// The columns of /points, in the order the file holds them: the one list that the writer, the
/// reader and its checks go through. `visit(name, column, absent)` gets each column's dataset
/// name, the column, and for columns added after the first files of schema 1 were written, a
/// pointer to the value such older files hold throughout (nullptr: the column is required).
template <typename Table, typename Visit>
void for_each_point_column(Table& table, const Visit& visit) {
  constexpr const std::string* required_text = nullptr;
  constexpr const std::int64_t* required_integer = nullptr;
  constexpr const double* required_number = nullptr;
  constexpr const std::uint8_t* required_byte = nullptr;
  visit("d", table.dim, required_integer);
  visit("N", table.train_length, required_integer);
  visit("M", table.test_length, required_integer);
  visit("shift", table.shift, required_text);
  visit("covariance", table.covariance, required_text);
  visit("task", table.task, required_text);
  visit("model", table.model, &absent::lsa);  // before the model axis: ZFB's one layer
  // Before training sweeps: one unnamed variant, one replicate; hyperparameters in the config.
  visit("training", table.training, &absent::none);
  visit("replicate", table.replicate, &absent::zero);
  visit("optimiser", table.optimiser, &absent::none);
  visit("learning_rate", table.learning_rate, &absent::nan);
  visit("batch", table.batch, &absent::zero);
  visit("steps", table.steps, &absent::zero);
  visit("warmup_fraction", table.warmup_fraction, &absent::nan);
  visit("schedule", table.schedule, &absent::none);
  visit("decay_every", table.decay_every, &absent::zero);
  visit("decay_factor", table.decay_factor, &absent::nan);
  visit("sigma", table.sigma, &absent::nan);
  visit("init", table.init, &absent::none);
  visit("model_key", table.model_key, &absent::none);
  visit("status", table.status, required_byte);
  visit("seconds", table.seconds, required_number);
  visit("estimated_seconds", table.estimated_seconds, required_number);
  visit("theory_source", table.theory_source, required_text);
  visit("sampler", table.sampler, &absent::plain);  // before the sufficient sampler
}

/// Per predictor, aligned with the point table. NaN where a point is pending or has no theory.
struct PredictorColumns {
  std::string name;
  std::vector<double> risk, standard_error, theory;
  std::vector<std::int64_t> prompts;
  /// Of the squared errors behind each estimate (NaN in files from before they were kept).
  std::vector<double> skewness, excess_kurtosis;

  /// Point `i`'s estimate (risk, stderr, prompts, moments; not the theory) from `other`.
  void copy_estimate(std::size_t i, const PredictorColumns& other) {
    risk[i] = other.risk[i];
    standard_error[i] = other.standard_error[i];
    prompts[i] = other.prompts[i];
    skewness[i] = other.skewness[i];
    excess_kurtosis[i] = other.excess_kurtosis[i];
  }

  /// Columns of `points` points, every number NaN and every count 0.
  static PredictorColumns empty(const std::string& name, std::size_t points) {
    const std::vector<double> nan(points, NAN);
    return {name, nan, nan, nan, std::vector<std::int64_t>(points, 0), nan, nan};
  }
};

struct ResultData {
  Provenance provenance;
  PointTable points;
  std::vector<PredictorColumns> predictors;
  std::vector<ModelRecord> models;
};

/// Write `data` to `path` atomically (temporary file, fsync, rename). Throws IoError. Returns the
/// seal of what was written (a journal names it).
SealIdentity write_result_file(const std::string& path, const ResultData& data);

/// Remove `path.tmp-PID` files left by writers that were killed mid-commit (PID no longer alive);
/// a live writer's temporary file is left alone. Returns how many were removed.
int remove_stale_temporaries(const std::string& path);

/// Read a result file (a regular file: no FIFO or device is read), its seal verified first, with
/// the commits of its journal (`path.journal`, a run in progress) replayed onto it.
/// Throws IoError when it cannot be read, ConfigError when it is missing, damaged, or not an
/// icl-study file of a schema this program understands (naming the file and what is wrong).
ResultData read_result_file(const std::string& path);

/// Read a result file from its bytes (as read_result_file; `path` names it in errors). For the
/// fuzzer, and for callers that hold the bytes already.
/// The journal is not read. `seal`, when given, receives the image's seal.
ResultData read_result_image(const std::vector<std::uint8_t>& image, const std::string& path,
                             SealIdentity* seal = nullptr);

}  // namespace icl
