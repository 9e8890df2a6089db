#include "study/selection.hpp"

#include "core/errors.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace icl {

std::vector<Candidate> rank_candidates(const ResultData& data, const std::string& path) {
  std::vector<Candidate> candidates;
  std::map<std::pair<std::string, std::string>, std::size_t> index;  // (group, training)
  std::map<std::string, std::size_t> group_order;
  std::vector<std::vector<std::pair<int, double>>> losses;  // per candidate: (replicate, loss)
  std::vector<double> single_stderr;
  for (const auto& model : data.models) {
    const auto loss = model.numbers.find("validation_loss");
    if (loss == model.numbers.end())
      throw ConfigError(path + ": model " + model.key +
                        " has no validation loss (written before selection existed: train it "
                        "again with this version)");
    const std::string group =
        "d=" + std::to_string(model.dim) + ";N=" + std::to_string(model.train_length) +
        ";covariance=" + model.covariance + ";task=" + model.task + ";model=" + model.model;
    const auto text = model.texts.find("training");
    const std::string training = text == model.texts.end() ? "" : text->second;
    const auto replicate = model.numbers.find("replicate");
    auto [it, inserted] = index.emplace(std::make_pair(group, training), candidates.size());
    if (inserted) {
      Candidate candidate;
      candidate.group = group;
      candidate.dim = model.dim;
      candidate.train_length = model.train_length;
      candidate.covariance = model.covariance;
      candidate.task = model.task;
      candidate.model = model.model;
      candidate.training = training;
      const auto eliminated = model.numbers.find("eliminated_at_steps");
      if (eliminated != model.numbers.end())
        candidate.eliminated_at_steps = static_cast<std::int64_t>(eliminated->second);
      candidates.push_back(candidate);
      losses.emplace_back();
      const auto error = model.numbers.find("validation_stderr");
      single_stderr.push_back(error == model.numbers.end() ? NAN : error->second);
      group_order.emplace(group, group_order.size());
    }
    losses[it->second].emplace_back(
        replicate == model.numbers.end() ? 0 : static_cast<int>(replicate->second), loss->second);
    candidates[it->second].model_keys.push_back(model.key);
  }
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    auto& candidate = candidates[c];
    const auto& values = losses[c];
    const double k = static_cast<double>(values.size());
    double mean = 0;
    for (const auto& [replicate, loss] : values) mean += loss / k;
    double squares = 0;
    for (const auto& [replicate, loss] : values) squares += (loss - mean) * (loss - mean);
    candidate.replicates = static_cast<int>(values.size());
    candidate.validation_loss = mean;
    candidate.validation_spread = values.size() > 1 ? std::sqrt(squares / (k - 1)) : NAN;
    candidate.validation_stderr =
        values.size() > 1 ? candidate.validation_spread / std::sqrt(k) : single_stderr[c];
  }
  // Rank within each group; ties (equal losses) keep the configured order of the variants.
  // Under successive halving a candidate dropped later outranks one dropped earlier, whatever
  // their losses (measured after different numbers of steps).
  auto reached = [](const Candidate& c) {
    return c.eliminated_at_steps == 0 ? INT64_MAX : c.eliminated_at_steps;
  };
  std::stable_sort(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
    if (a.group != b.group) return group_order.at(a.group) < group_order.at(b.group);
    if (reached(a) != reached(b)) return reached(a) > reached(b);
    return a.validation_loss < b.validation_loss;
  });
  for (std::size_t c = 0; c < candidates.size(); ++c)
    candidates[c].rank =
        c > 0 && candidates[c - 1].group == candidates[c].group ? candidates[c - 1].rank + 1 : 1;
  return candidates;
}

std::set<std::string> selected_model_keys(const std::vector<Candidate>& candidates) {
  std::set<std::string> keys;
  for (const auto& candidate : candidates)
    if (candidate.selected()) keys.insert(candidate.model_keys.begin(), candidate.model_keys.end());
  return keys;
}

}  // namespace icl
