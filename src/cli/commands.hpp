#pragma once
/// The subcommands of `icl-study` (README "Command line"). Each registers its options on the
/// CLI11 app and returns the action to run after parsing; actions return the process exit code.
#include "parallel/communicator.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace icl {

/// A number option's check: finite and in [low, high]. (CLI::Range lets NaN through, since every
/// comparison with NaN is false.)
inline CLI::Validator finite_in(double low, double high) {
  auto shown = [](double value) {
    std::ostringstream out;
    out << value;
    return out.str();
  };
  const std::string range = "[" + shown(low) + ", " + shown(high) + "]";
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        double value = 0;
        std::size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          return "expected a number, got '" + text + "'";
        }
        if (used != text.size() || !std::isfinite(value) || value < low || value > high)
          return "expected a finite number in " + range + ", got '" + text + "'";
        return std::string();
      },
      "FINITE in " + range);
}

/// `--set section.key=value` (repeatable): a config value overridden from the command line, in
/// TOML syntax (`--set grid.N=[10,20] --set models.learning_rate=3e-3`).
inline void add_set_option(CLI::App& command, std::vector<std::string>& overrides) {
  command.add_option("--set", overrides,
                     "override a config value: section.key=value (TOML value), repeatable");
}

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
CommandAction register_select_command(CLI::App& app);
CommandAction register_validate_command(CLI::App& app);
CommandAction register_shifts_command(CLI::App& app);

}  // namespace icl
