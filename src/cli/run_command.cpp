/// `icl-study run CONFIG -o OUT.h5 [--resume] [--force] [--shard I/K] [--threads T] [--progress
/// M]`: the options; the run itself is src/study/run.hpp.
#include "cli/commands.hpp"
#include "parallel/signals.hpp"
#include "study/run.hpp"

#include <memory>

namespace icl {

CommandAction register_run_command(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  auto* command =
      app.add_subcommand("run", "Run a study: train, evaluate every grid point, write HDF5");
  command->add_option("config", options->config, "study config (TOML)")->required();
  command->add_option("-o,--output", options->output, "result file (HDF5)")->required();
  command->add_flag("--resume", options->resume,
                    "continue OUT.h5.partial (or OUT.h5) of the same config and seed");
  command->add_flag("--force", options->force, "replace an existing OUT.h5");
  add_set_option(*command, options->overrides);
  command->add_option("--shard", options->shard, "run only shard I of K (I/K, 0 <= I < K)");
  command
      ->add_option("--threads", options->threads,
                   "OpenMP threads per rank (default: OMP_NUM_THREADS)")
      ->check(CLI::Range(1, 4096));
  command
      ->add_option("--commit-every", options->commit_seconds,
                   "seconds between commits of finished points to OUT.h5.partial")
      ->check(finite_in(0.0, 86400.0))
      ->capture_default_str();
  command->add_option("--progress", options->progress, "progress on stderr: auto, on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  return [options](CommandContext& context) {
    // Before MPI starts: under Slurm the stop signal can come at any moment, even during start-up.
    install_stop_handlers();
    return context.with_world(
        [&](const Communicator& world) { return run_study(world, *options); });
  };
}

}  // namespace icl
