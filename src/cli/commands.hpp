#pragma once
/// The subcommands of `icl-study` (DESIGN.md, command line). Each registers its options on the CLI11
/// app and returns the action to run after parsing; actions return the process exit code.
#include <CLI/CLI.hpp>

#include <functional>

namespace icl {

using CommandAction = std::function<int()>;

CommandAction register_theory_command(CLI::App& app);
CommandAction register_train_command(CLI::App& app);

}  // namespace icl
