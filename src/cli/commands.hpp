#pragma once
/// The subcommands of `icl-study` (DESIGN.md, command line). Each registers its options on the
/// CLI11 app and returns the action to run after parsing; actions return the process exit code.
#include "parallel/communicator.hpp"

#include <CLI/CLI.hpp>

#include <functional>

namespace icl {

/// What main hands to an action: a way to run a body inside the MPI environment (only `run` needs
/// it, so the other commands start without MPI).
struct CommandContext {
  std::function<int(const std::function<int(const Communicator&)>&)> with_world;
};

using CommandAction = std::function<int(CommandContext&)>;

CommandAction register_theory_command(CLI::App& app);
CommandAction register_train_command(CLI::App& app);
CommandAction register_run_command(CLI::App& app);
CommandAction register_plan_command(CLI::App& app);
CommandAction register_merge_command(CLI::App& app);
CommandAction register_info_command(CLI::App& app);
CommandAction register_export_command(CLI::App& app);
CommandAction register_validate_command(CLI::App& app);
CommandAction register_shifts_command(CLI::App& app);

}  // namespace icl
