#pragma once
/// `icl-study run`: a study run end to end on the ranks of a communicator, in three phases, on
/// every rank. (1) Rank 0 validates the config and the output and, with --resume, reads the
/// partial file; every error so far exits 2/3 on all ranks before any work. (2) The training
/// settings the pending points need are split over the ranks by cost; each is trained once, by its
/// owner, and broadcast; finished models are committed. (3) The pending points are split over the
/// ranks by the cost model and evaluated by the engine (engine.hpp), which collects, commits and
/// stops.
#include "parallel/communicator.hpp"

#include <string>
#include <vector>

namespace icl {

/// The command line's options (README "Command line").
struct RunOptions {
  std::string config, output;
  std::string shard;                   ///< "I/K", or empty for the whole study
  std::string progress = "auto";       ///< "auto", "on" or "off"
  std::vector<std::string> overrides;  ///< --set section.key=value
  bool resume = false, force = false;
  int threads = 0;
  double commit_seconds = 2.0;
};

/// Returns the exit code, the same on every rank (core/errors.hpp exit_code).
int run_study(const Communicator& comm, const RunOptions& options);

}  // namespace icl
