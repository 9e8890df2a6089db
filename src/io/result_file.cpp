#include "io/result_file.hpp"

#include "core/errors.hpp"
#include "io/files.hpp"
#include "io/hdf5.hpp"
#include "io/result_journal.hpp"
#include "io/result_metadata.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace icl {
namespace {

constexpr std::string_view hdf5_signature("\x89HDF\r\n\x1a\n", 8);

/// The seal's text: three lines, then zeros up to seal_bytes.
std::string seal_text(std::uint32_t crc, std::uint64_t bytes) {
  char text[160];
  std::snprintf(text, sizeof text, "%scrc32 %08" PRIx32 "\nbytes %" PRIu64 "\n",
                std::string(seal_magic).c_str(), crc, bytes);
  return text;
}

/// Fill the user block HDF5 left at the start of the closed file `path` with the seal of the rest.
/// The file is read back in blocks (not whole: a large file would cost its size in fresh memory).
SealIdentity seal(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open to seal (" + std::strerror(errno) + ")");
  auto fail = [&](const std::string& action) {
    const int error = errno;
    ::close(fd);
    throw IoError(path + ": " + action + " (" + std::strerror(error) + ")");
  };
  SealIdentity identity{static_cast<std::uint32_t>(crc32_z(0L, Z_NULL, 0)), 0, true};
  std::vector<std::uint8_t> block(std::size_t{4} << 20);
  for (off_t offset = seal_bytes;;) {
    const ssize_t got = ::pread(fd, block.data(), block.size(), offset);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("reading back to seal failed");
    if (got == 0) break;
    identity.crc = static_cast<std::uint32_t>(
        crc32_z(identity.crc, block.data(), static_cast<std::size_t>(got)));
    identity.bytes += static_cast<std::uint64_t>(got);
    offset += got;
  }
  if (identity.bytes == 0) {
    errno = 0;
    fail("written file is shorter than its seal");
  }
  std::string text = seal_text(identity.crc, identity.bytes);
  text.resize(seal_bytes, '\0');
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    fail("writing the seal failed");
  ::close(fd);
  return identity;
}

/// Judge the seal of a whole file's bytes. Unsealed files (written before seals existed) start
/// with HDF5's signature and pass unverified; everything else must carry a seal that matches.
/// Returns where the HDF5 part starts: 0 in an unsealed file, seal_bytes in a sealed one, and the
/// seal in `identity`.
std::size_t verify_seal(const std::vector<std::uint8_t>& bytes, const std::string& path,
                        SealIdentity& identity) {
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()),
                              std::min(bytes.size(), seal_bytes));
  if (head.substr(0, hdf5_signature.size()) == hdf5_signature) return 0;  // unsealed, older
  const bool hdf5_after_block =
      bytes.size() > seal_bytes + hdf5_signature.size() &&
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + seal_bytes,
                       hdf5_signature.size()) == hdf5_signature;
  if (head.substr(0, seal_magic.size()) != seal_magic) {
    if (hdf5_after_block)
      throw ConfigError(path +
                        ": damaged result file (its seal, the first 512 bytes, is not "
                        "intact)");
    throw ConfigError(path + ": not an HDF5 file");
  }
  std::uint32_t crc = 0;
  std::uint64_t length = 0;
  const std::string header(head.substr(seal_magic.size(), 64));
  if (std::sscanf(header.c_str(), "crc32 %8" SCNx32 "\nbytes %" SCNu64, &crc, &length) != 2)
    throw ConfigError(path + ": damaged result file (its seal cannot be read)");
  // The whole block must be exactly what the writer puts there (text, then zeros).
  std::string block = seal_text(crc, length);
  block.resize(seal_bytes, '\0');
  if (head != block) throw ConfigError(path + ": damaged result file (its seal is not intact)");
  if (bytes.size() - std::min(bytes.size(), seal_bytes) != length)
    throw ConfigError(path + ": damaged result file (" + std::to_string(bytes.size()) +
                      " bytes, its seal says " + std::to_string(length + seal_bytes) +
                      "; truncated or extended)");
  if (crc32_of(bytes.data() + seal_bytes, length) != crc)
    throw ConfigError(path + ": damaged result file (its CRC-32 does not match its seal)");
  identity = {crc, length, true};
  return seal_bytes;
}

void sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw IoError(path + ": cannot open to flush to disk");
  const int status = ::fsync(fd);
  ::close(fd);
  if (status != 0 && !directory) throw IoError(path + ": flushing to disk failed");
}

void write_provenance(const h5::Handle& file, const Provenance& p) {
  h5::write_attribute(file, "schema_version", schema_version);
  h5::write_attribute(file, "program", p.program);
  h5::write_attribute(file, "version", p.version);
  h5::write_attribute(file, "git_commit", p.git_commit);
  h5::write_attribute(file, "created", p.created);
  h5::write_attribute(file, "config", p.config);
  h5::write_attribute(file, "study", p.study);
  h5::write_attribute(file, "seed", p.seed);
  h5::write_attribute(file, "mpi_ranks", p.mpi_ranks);
  h5::write_attribute(file, "omp_threads", p.omp_threads);
  h5::write_attribute(file, "rng", p.rng);
  h5::write_attribute(file, "hostname", p.hostname);
  h5::write_attribute(file, "shard", p.shard);
  for (const auto& [key, value] : p.slurm) h5::write_attribute(file, "slurm_" + key, value);
}

Provenance read_provenance(const h5::Handle& file) {
  Provenance p;
  p.program = h5::read_string_attribute(file, "program");
  p.version = h5::read_string_attribute(file, "version");
  p.git_commit = h5::read_string_attribute(file, "git_commit");
  p.created = h5::read_string_attribute(file, "created");
  p.config = h5::read_string_attribute(file, "config");
  p.study = h5::read_string_attribute(file, "study");
  p.seed = h5::read_integer_attribute(file, "seed");
  p.mpi_ranks = h5::read_integer_attribute(file, "mpi_ranks");
  p.omp_threads = h5::read_integer_attribute(file, "omp_threads");
  p.rng = h5::read_string_attribute(file, "rng");
  p.hostname = h5::read_string_attribute(file, "hostname");
  p.shard = h5::read_string_attribute(file, "shard");
  for (const char* key : slurm_variables)
    if (h5::has_attribute(file, std::string("slurm_") + key))
      p.slurm[key] = h5::read_string_attribute(file, std::string("slurm_") + key);
  return p;
}

/// One column of a table, by its element type.
void write_column(const h5::Handle& group, const char* name,
                  const std::vector<std::int64_t>& column) {
  h5::write_integers(group, name, column);
}
void write_column(const h5::Handle& group, const char* name, const std::vector<double>& column) {
  h5::write_doubles(group, name, column);
}
void write_column(const h5::Handle& group, const char* name,
                  const std::vector<std::string>& column) {
  h5::write_strings(group, name, column);
}
void write_column(const h5::Handle& group, const char* name,
                  const std::vector<std::uint8_t>& column) {
  h5::write_bytes(group, name, column);
}
void read_column(const h5::Handle& group, const char* name, std::vector<std::int64_t>& column) {
  column = h5::read_integers(group, name);
}
void read_column(const h5::Handle& group, const char* name, std::vector<double>& column) {
  column = h5::read_doubles(group, name);
}
void read_column(const h5::Handle& group, const char* name, std::vector<std::string>& column) {
  column = h5::read_strings(group, name);
}
void read_column(const h5::Handle& group, const char* name, std::vector<std::uint8_t>& column) {
  column = h5::read_bytes(group, name);
}

void write_contents(const std::string& path, const ResultData& data) {
  h5::Handle file = h5::create_file(path, seal_bytes);
  write_provenance(file, data.provenance);

  h5::Handle points = h5::create_group(file, "points");
  for_each_point_column(data.points, [&](const char* name, const auto& column, const auto*) {
    write_column(points, name, column);
  });

  h5::Handle estimates = h5::create_group(file, "estimates");
  h5::Handle theory = h5::create_group(file, "theory");
  std::vector<std::string> order;
  for (const auto& predictor : data.predictors) {
    h5::Handle group = h5::create_group(estimates, predictor.name);
    h5::write_doubles(group, "risk", predictor.risk);
    h5::write_doubles(group, "stderr", predictor.standard_error);
    h5::write_integers(group, "prompts", predictor.prompts);
    h5::write_doubles(group, "skewness", predictor.skewness);
    h5::write_doubles(group, "excess_kurtosis", predictor.excess_kurtosis);
    h5::write_doubles(theory, predictor.name, predictor.theory);
    order.push_back(predictor.name);
  }
  // HDF5 lists links alphabetically; keep the configured order of the predictors too.
  h5::write_strings(file, "predictors", order);
  describe_result_tables(file, data);

  h5::Handle models = h5::create_group(file, "models");
  for (const auto& model : data.models) {
    h5::Handle group = h5::create_group(models, model.key);
    h5::write_attribute(group, "d", model.dim);
    h5::write_attribute(group, "N", model.train_length);
    h5::write_attribute(group, "covariance", model.covariance);
    h5::write_attribute(group, "task", model.task);
    h5::write_attribute(group, "method", model.method);
    h5::write_attribute(group, "model", model.model);
    for (const auto& [name, value] : model.numbers) {
      // Counts and flags as integers (xarray and pandas then see them as such); NaN stays a number.
      if (is_integer_model_attribute(name) && std::isfinite(value) && value == std::floor(value))
        h5::write_attribute(group, name, static_cast<std::int64_t>(value));
      else
        h5::write_attribute(group, name, value);
    }
    for (const auto& [name, text] : model.texts) h5::write_attribute(group, name, text);
    h5::write_matrix(group, "W_PV", model.value_projection);
    h5::write_matrix(group, "W_KQ", model.key_query);
    if (model.input_covariance.size() > 0)
      h5::write_matrix(group, "Lambda", model.input_covariance);
    h5::write_doubles(group, "loss", model.loss);
    for (const auto& [name, curve] : model.curves) h5::write_doubles(group, name, curve);
  }
}

}  // namespace

SealIdentity write_result_file(const std::string& path, const ResultData& data) {
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  try {
    write_contents(temporary, data);  // the file handle closes here
    const SealIdentity identity = seal(temporary);
    sync_path(temporary, false);
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error)
      throw IoError(path + ": cannot rename the finished file into place: " + error.message());
    const auto folder = std::filesystem::absolute(path).parent_path();
    sync_path(folder.string(), true);
    return identity;
  } catch (const IoError& e) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw IoError(e.what() + disk_full_note(path));
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

int remove_stale_temporaries(const std::string& path) {
  return remove_files_of_dead_processes(path + ".tmp-");
}

namespace {
ResultData read_result_contents(const h5::Handle& file, const std::string& path);
}  // namespace

std::uint32_t crc32_of(const std::uint8_t* data, std::size_t size) {
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), data, size));
}

ResultData read_result_file(const std::string& path) {
  SealIdentity identity;
  ResultData data =
      read_result_image(read_regular_file(path, UINT64_MAX, "result file"), path, &identity);
  if (identity.sealed) replay_result_journal(path, identity, data);
  return data;
}

ResultData read_result_image(const std::vector<std::uint8_t>& image, const std::string& path,
                             SealIdentity* seal) {
  SealIdentity identity;
  const std::size_t start = verify_seal(image, path, identity);
  if (seal) *seal = identity;
  // The bytes are read once, checked, and handed to HDF5 from memory: HDF5 never parses a file
  // whose seal does not match (a damaged file must not crash the library), and a file replaced on
  // disk meanwhile cannot change what is read.
  h5::Handle file = h5::open_file_image(image.data() + start, image.size() - start, path);
  // A read that fails past this point means a damaged file, which is bad input (exit 2), not an
  // I/O fault.
  try {
    return read_result_contents(file, path);
  } catch (const IoError& e) {
    std::string message = e.what();
    if (message.rfind(path, 0) != 0) message = path + ": " + message;
    throw ConfigError(message + " (damaged file?)");
  }
}

namespace {
ResultData read_result_contents(const h5::Handle& file, const std::string& path) {
  if (!h5::has_attribute(file, "program") || !h5::has_attribute(file, "schema_version") ||
      h5::read_string_attribute(file, "program") != "icl-study")
    throw ConfigError(path +
                      ": not an icl-study result file (no program = \"icl-study\" attribute)");
  const auto version = h5::read_integer_attribute(file, "schema_version");
  if (version != schema_version)
    throw ConfigError(path + ": result schema_version " + std::to_string(version) +
                      (version > schema_version ? " is newer than" : " is not") +
                      " the version this program reads (" + std::to_string(schema_version) + ")");
  ResultData data;
  data.provenance = read_provenance(file);
  h5::Handle points = h5::open_group(file, "points");
  // Every column has as many rows as /points/status (the table's size); read that first.
  data.points.status = h5::read_bytes(points, "status");
  const std::size_t n = data.points.size();
  auto check_length = [&](std::size_t size, const std::string& what) {
    if (size != n)
      throw ConfigError(path + ": " + what + " has " + std::to_string(size) + " rows, expected " +
                        std::to_string(n) + " (damaged file)");
  };
  for_each_point_column(data.points, [&](const char* name, auto& column, const auto* absent) {
    if (absent && !h5::exists(points, name)) {
      column.assign(n, *absent);
      return;
    }
    read_column(points, name, column);
    check_length(column.size(), std::string("/points/") + name);
  });
  for (auto status : data.points.status)
    if (status > point_status::eliminated)
      throw ConfigError(path + ": /points/status holds " + std::to_string(status) +
                        ", expected 0, 1 or 2 (damaged file)");

  h5::Handle estimates = h5::open_group(file, "estimates");
  h5::Handle theory = h5::open_group(file, "theory");
  for (const auto& name : h5::read_strings(file, "predictors")) {
    h5::Handle group = h5::open_group(estimates, name);
    PredictorColumns columns;
    columns.name = name;
    columns.risk = h5::read_doubles(group, "risk");
    columns.standard_error = h5::read_doubles(group, "stderr");
    columns.prompts = h5::read_integers(group, "prompts");
    columns.theory = h5::read_doubles(theory, name);
    check_length(columns.risk.size(), "/estimates/" + name + "/risk");
    check_length(columns.standard_error.size(), "/estimates/" + name + "/stderr");
    check_length(columns.prompts.size(), "/estimates/" + name + "/prompts");
    check_length(columns.theory.size(), "/theory/" + name);
    // The squared errors' skewness and kurtosis: absent in files written before they were kept.
    for (auto [moment, values] : {std::pair{"skewness", &columns.skewness},
                                  std::pair{"excess_kurtosis", &columns.excess_kurtosis}}) {
      *values = h5::has_child(group, moment) ? h5::read_doubles(group, moment)
                                             : std::vector<double>(columns.risk.size(), NAN);
      check_length(values->size(), "/estimates/" + name + "/" + moment);
    }
    data.predictors.push_back(std::move(columns));
  }

  h5::Handle models = h5::open_group(file, "models");
  for (const auto& key : h5::list_children(models)) {
    h5::Handle group = h5::open_group(models, key);
    ModelRecord model;
    model.key = key;
    model.dim = h5::read_integer_attribute(group, "d");
    model.train_length = h5::read_integer_attribute(group, "N");
    model.covariance = h5::read_string_attribute(group, "covariance");
    model.task = h5::read_string_attribute(group, "task");
    model.method = h5::read_string_attribute(group, "method");
    if (h5::has_attribute(group, "model")) model.model = h5::read_string_attribute(group, "model");
    model.value_projection = h5::read_matrix(group, "W_PV");
    model.key_query = h5::read_matrix(group, "W_KQ");
    // Lambda: absent in files from before it was stored and for random covariances.
    if (h5::has_child(group, "Lambda")) model.input_covariance = h5::read_matrix(group, "Lambda");
    model.loss = h5::read_doubles(group, "loss");
    for (const auto& child : h5::list_children(group))
      if (child != "W_PV" && child != "W_KQ" && child != "Lambda" && child != "loss")
        model.curves[child] = h5::read_doubles(group, child);
    for (const char* name : {"converged",
                             "loss_gap",
                             "seconds",
                             "final_distance",
                             "steps",
                             "depth",
                             "heads",
                             "replicate",
                             "learning_rate",
                             "warmup_fraction",
                             "decay_factor",
                             "sigma",
                             "batch",
                             "decay_every",
                             "validation_loss",
                             "validation_stderr",
                             "trained_steps",
                             "eliminated_at_steps",
                             "diverged_before_steps",
                             "state_initial_loss",
                             "state_last_finite_loss",
                             "state_loss_since_record",
                             "state_steps_since_record"})
      if (h5::has_attribute(group, name))
        model.numbers[name] = h5::read_double_attribute(group, name);
    for (const char* name : {"training", "optimiser", "schedule", "init", "diverged"})
      if (h5::has_attribute(group, name))
        model.texts[name] = h5::read_string_attribute(group, name);
    data.models.push_back(std::move(model));
  }
  return data;
}
}  // namespace

}  // namespace icl
