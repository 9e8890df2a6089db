#include "study/halving.hpp"

#include "training/rung_training.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace icl {

std::vector<std::uint32_t> halving_budgets(const SweepConfig& sweep) {
  std::vector<std::uint32_t> budgets;
  double budget = sweep.min_steps;
  while (budget < sweep.max_steps) {
    budgets.push_back(static_cast<std::uint32_t>(budget));
    budget *= sweep.eta;
  }
  budgets.push_back(sweep.max_steps);
  return budgets;
}

std::string selection_group(const TrainingSetting& setting) {
  return "d=" + std::to_string(setting.dim) + ";N=" + std::to_string(setting.train_length) +
         ";covariance=" + setting.covariance + ";task=" + setting.task + ";model=" + setting.model;
}

std::vector<std::size_t> halving_survivors(const Study& study,
                                           const std::vector<std::size_t>& alive,
                                           const std::map<std::size_t, double>& losses, int eta) {
  // group -> variant -> the losses of its replicates
  std::map<std::string, std::map<std::size_t, std::vector<double>>> groups;
  for (std::size_t s : alive) {
    const TrainingSetting& setting = study.settings[s];
    const auto found = losses.find(s);
    groups[selection_group(setting)][setting.variant].push_back(
        found == losses.end() ? NAN : found->second);
  }
  std::map<std::string, std::set<std::size_t>> kept;
  for (const auto& [group, variants] : groups) {
    std::vector<std::pair<double, std::size_t>> ranked;  // (mean loss, variant)
    for (const auto& [variant, values] : variants) {
      double mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
      if (std::isnan(mean)) mean = INFINITY;
      ranked.emplace_back(mean, variant);
    }
    std::sort(ranked.begin(), ranked.end());
    const std::size_t keep = (ranked.size() + eta - 1) / eta;
    // A diverged candidate (loss +inf) is never kept, even when every candidate diverged.
    for (std::size_t k = 0; k < keep && std::isfinite(ranked[k].first); ++k)
      kept[group].insert(ranked[k].second);
  }
  std::vector<std::size_t> survivors;
  for (std::size_t s : alive) {
    const TrainingSetting& setting = study.settings[s];
    if (kept[selection_group(setting)].count(setting.variant)) survivors.push_back(s);
  }
  std::sort(survivors.begin(), survivors.end());
  return survivors;
}

std::vector<std::size_t> whole_groups(const Study& study,
                                      const std::vector<std::size_t>& settings) {
  std::set<std::string> touched;
  for (std::size_t s : settings) touched.insert(selection_group(study.settings[s]));
  std::vector<std::size_t> result;
  for (std::size_t s = 0; s < study.settings.size(); ++s)
    if (touched.count(selection_group(study.settings[s]))) result.push_back(s);
  return result;
}

double halving_training_cost(const Study& study, const std::vector<std::size_t>& settings) {
  const auto budgets = halving_budgets(study.config.sweep);
  // group -> (variants, replicates, cost of one whole run)
  std::map<std::string, std::pair<std::set<std::size_t>, double>> groups;
  double cost = 0;
  for (std::size_t s : settings) {
    const TrainingSetting& setting = study.settings[s];
    const double whole = training_cost(setting, models_of(study.config, setting));
    if (!trains_in_steps(setting, training_of(study.config, setting))) {
      cost += whole;
      continue;
    }
    auto& group = groups[selection_group(setting)];
    group.first.insert(setting.variant);
    group.second = whole * study.config.sweep.replicates;
  }
  const double max_steps = budgets.back();
  for (const auto& [name, group] : groups) {
    double variants = static_cast<double>(group.first.size());
    std::uint32_t done = 0;
    for (std::uint32_t budget : budgets) {
      cost += variants * group.second * (budget - done) / max_steps;
      done = budget;
      variants = std::ceil(variants / study.config.sweep.eta);
    }
  }
  return cost;
}

}  // namespace icl
