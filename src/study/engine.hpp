#pragma once
/// The evaluation phase of `icl-study run`: every rank evaluates its points; rank 0 also collects
/// every rank's results, commits them to disk every few seconds (atomically, so a kill loses only
/// the points in flight), reports progress, and coordinates a stop (signal or error) so that every
/// rank leaves together with the same exit code.
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
  ProgressMode progress = ProgressMode::automatic;
  double commit_interval_seconds = 2.0;
};

/// Returns the exit code for every rank: 0 done, 75 stopped by a signal, or the code of the first
/// error (2, 3, 4). Rank 0 writes the final file on success and the partial file otherwise.
int run_engine(const Communicator& comm, const EngineInput& input);

/// Commit `result` to `partial_path` (atomic). Used also before evaluation (after training).
void commit_partial(const ResultData& result, const std::string& partial_path);

}  // namespace icl
