#pragma once
/// The evaluation phase of `icl-study run`: every rank evaluates its points; rank 0 also collects
/// every rank's results, commits them to disk every few seconds (appended to a journal beside
/// the partial file, each commit flushed whole, so a kill loses only the points in flight), reports
/// progress, and coordinates a stop (signal or error) so that every rank leaves together with the
/// same exit code.
#include "parallel/communicator.hpp"
#include "parallel/partition.hpp"
#include "study/study.hpp"
#include "training/setting_training.hpp"

#include <optional>
#include <string>
#include <vector>

namespace icl {

enum class ProgressMode { automatic, on, off };

struct EngineInput {
  const Study* study = nullptr;
  std::vector<WorkUnit> my_units;  ///< this rank's work: chunks of points, in point order
  std::size_t total_points = 0;    ///< points this run evaluates on all ranks
  double total_cost = 0;  ///< their estimated seconds (the cost model), which the ETA divides
  std::vector<SettingModel> models;      ///< per training setting, when trained
  ResultData* result = nullptr;          ///< rank 0: the file's contents, updated in place
  std::string partial_path, final_path;  ///< rank 0
  /// Rank 0: the seal of the partial file when it holds exactly `*result` (written just before);
  /// the first commit then starts a journal on it instead of writing the file again.
  std::optional<SealIdentity> snapshot;
  /// Rank 0: seconds of the run before the engine, and of them in writes of the partial file (the
  /// engine's report of rank 0's time covers the whole run).
  double earlier_seconds = 0, earlier_write_seconds = 0;
  ProgressMode progress = ProgressMode::automatic;
  double commit_interval_seconds = 2.0;
};

/// Returns the exit code for every rank: 0 done, 75 stopped by a signal, or the code of the first
/// error (2, 3, 4). Rank 0 writes the final file on success and the partial file otherwise.
int run_engine(const Communicator& comm, const EngineInput& input);

/// Write `result` whole to `partial_path` (atomic) and remove the journal beside it (the engine
/// starts a new one). Used also before evaluation (after training). Returns the snapshot's seal.
SealIdentity commit_partial(const ResultData& result, const std::string& partial_path);

}  // namespace icl
