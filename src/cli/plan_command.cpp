/// `icl-study validate CONFIG` and `icl-study plan CONFIG --ranks R`.
#include "cli/commands.hpp"
#include "evaluation/monte_carlo.hpp"
#include "parallel/partition.hpp"
#include "study/halving.hpp"
#include "study/study.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

namespace icl {
namespace {

int run_validate(const std::string& path, const std::vector<std::string>& overrides) {
  const Study study = expand_study(parse_config_file(path, overrides));
  std::cout << path << ": valid; " << study.points.size() << " grid points, "
            << study.settings.size() << " training settings, " << study.config.predictors.size()
            << " predictors, " << study.config.prompts << " prompts per point\n";
  return 0;
}

/// "0-3,7,9-10": a compact list of point indices.
std::string ranges(const std::vector<std::size_t>& items) {
  std::string text;
  for (std::size_t i = 0; i < items.size();) {
    std::size_t j = i;
    while (j + 1 < items.size() && items[j + 1] == items[j] + 1) ++j;
    if (!text.empty()) text += ',';
    text += std::to_string(items[i]);
    if (j > i) {
      text += '-';
      text += std::to_string(items[j]);
    }
    i = j + 1;
  }
  return text;
}

int run_plan(const std::string& path, int ranks, const std::vector<std::string>& overrides) {
  const Study study = expand_study(parse_config_file(path, overrides));
  std::vector<std::size_t> all(study.points.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const UnitPlan plan = plan_work(study, all, ranks);
  std::vector<double> unit_costs;
  for (const auto& unit : plan.units) unit_costs.push_back(unit.cost);
  const auto loads = owner_loads(unit_costs, plan.owners, ranks);
  double total = 0;
  for (const auto& point : study.points) total += point_cost(study, point);
  std::printf(
      "%zu points in %zu work units (chunks of %u prompts), estimated %.1f core-seconds in all "
      "(cost model: evaluation only)\n",
      study.points.size(), plan.units.size(), prompts_per_chunk, total);
  std::printf("%6s %8s %12s  %s\n", "rank", "units", "est. seconds", "points (some in part)");
  for (int rank = 0; rank < ranks; ++rank) {
    std::vector<std::size_t> mine;
    std::size_t units = 0;
    for (std::size_t k = 0; k < plan.units.size(); ++k)
      if (plan.owners[k] == rank) {
        ++units;
        if (mine.empty() || mine.back() != plan.units[k].item) mine.push_back(plan.units[k].item);
      }
    std::printf("%6d %8zu %12.2f  %s\n", rank, units, loads[rank], ranges(mine).c_str());
  }
  std::printf("imbalance (max/mean): %.4f\n", imbalance(loads));
  // Training comes first: each setting once, spread over the ranks by its own cost model.
  if (needs_trained_models(study.config) && !study.settings.empty()) {
    std::vector<double> training;
    for (const auto& setting : study.settings)
      training.push_back(training_cost(setting, models_of(study.config, setting)));
    const auto owners = balanced_partition(training, ranks);
    const auto training_loads = owner_loads(training, owners, ranks);
    double sum = 0;
    for (double c : training) sum += c;
    std::printf(
        "training: %zu settings, estimated %.1f core-seconds in all, %.1f s on the "
        "busiest of %d ranks\n",
        study.settings.size(), sum, *std::max_element(training_loads.begin(), training_loads.end()),
        ranks);
    if (study.config.sweep.halving) {
      std::vector<std::size_t> all(study.settings.size());
      std::iota(all.begin(), all.end(), std::size_t(0));
      const auto budgets = halving_budgets(study.config.sweep);
      std::printf(
          "successive halving: %zu rungs (steps %u to %u, eta %d), estimated %.1f core-seconds "
          "of training (%.0f%% of the above); the points of dropped candidates are not "
          "evaluated\n",
          budgets.size(), budgets.front(), budgets.back(), study.config.sweep.eta,
          halving_training_cost(study, all), 100 * halving_training_cost(study, all) / sum);
    }
  }
  return 0;
}

}  // namespace

CommandAction register_validate_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* command =
      app.add_subcommand("validate", "Check a config; print the grid size; exit 2 on any error");
  command->add_option("config", *path, "study config (TOML)")->required();
  auto overrides = std::make_shared<std::vector<std::string>>();
  add_set_option(*command, *overrides);
  return [path, overrides](CommandContext&) { return run_validate(*path, *overrides); };
}

CommandAction register_plan_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto ranks = std::make_shared<int>(1);
  auto* command =
      app.add_subcommand("plan", "Show how the grid splits over R ranks, with cost estimates");
  command->add_option("config", *path, "study config (TOML)")->required();
  command->add_option("--ranks", *ranks, "number of MPI ranks (or shards)")
      ->required()
      ->check(CLI::Range(1, 1 << 20));
  auto overrides = std::make_shared<std::vector<std::string>>();
  add_set_option(*command, *overrides);
  return [path, ranks, overrides](CommandContext&) { return run_plan(*path, *ranks, *overrides); };
}

}  // namespace icl
