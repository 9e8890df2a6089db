#include "evaluation/point_evaluation.hpp"

#include "core/errors.hpp"
#include "evaluation/sufficient.hpp"

#include <cmath>
#include <memory>

namespace icl {
namespace {

/// point_model with the test law built already (building it can cost a d x d rotation).
PointModel point_model(const GridPoint& point, const PromptLaw& law, const SettingModel* trained,
                       std::uint64_t seed) {
  PointModel model(*point.inputs, point.train_length, law, point.test_length,
                   trained ? trained->one_layer : std::nullopt);
  const ModelSpec& spec = point.model_spec;
  if (spec.kind == ModelSpec::Kind::softmax)
    model.use_softmax_model(spec.depth, trained ? trained->softmax : std::nullopt);
  else if (spec.depth > 0)
    model.use_deep_model(spec.depth, trained ? trained->deep : std::nullopt);
  model.set_step_tuning(point.training_law(), seed, point.tuning_address());
  return model;
}

}  // namespace

PointModel point_model(const GridPoint& point, const SettingModel* trained, std::uint64_t seed) {
  return point_model(point, point.test_law(seed), trained, seed);
}

std::optional<ChunkStatistics> evaluate_point(const GridPoint& point, const SettingModel* trained,
                                              const std::vector<std::string>& predictors,
                                              std::uint64_t seed, std::uint32_t prompts,
                                              std::uint32_t first_chunk, std::uint32_t chunks,
                                              const std::function<bool()>& interrupted) {
  const PromptLaw law = point.test_law(seed);
  const PointModel model = point_model(point, law, trained, seed);
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> running;
  std::vector<std::size_t> slots;  // where each running predictor's statistics go
  for (std::size_t p = 0; p < predictors.size(); ++p) {
    if (!point.evaluates(p)) continue;
    owned.push_back(model.make(predictors[p]));
    running.push_back(owned.back().get());
    slots.push_back(p);
  }
  std::optional<ChunkStatistics> statistics;
  if (point.sufficient) {
    std::vector<LinearForm> forms;
    for (std::size_t p = 0; p < running.size(); ++p) {
      auto form = running[p]->linear_form();
      if (!form)
        throw NumericalError("predictor '" + predictors[slots[p]] +
                             "' has no linear form here (trained p, q != 0?): run with "
                             "[study] sampler = \"plain\"");
      forms.push_back(std::move(*form));
    }
    const SufficientSampler sampler(law, point.test_length);
    statistics = estimate_chunks(
        [&](const MonteCarloSpec& spec) {
          return estimate_conditional_risks(sampler, forms, spec);
        },
        seed, point.random_address, prompts, first_chunk, chunks, interrupted);
  } else {
    const PromptSampler sampler(law, point.test_length);
    statistics = estimate_chunks(
        [&](const MonteCarloSpec& spec) { return estimate_risks(sampler, running, spec); }, seed,
        point.random_address, prompts, first_chunk, chunks, interrupted);
  }
  if (!statistics) return std::nullopt;
  for (auto& chunk : *statistics) {
    for (const auto& s : chunk)
      if (!std::isfinite(s.mean))
        throw NumericalError(describe(point) + ": a risk estimate is not finite");
    // Predictors the point does not evaluate keep empty statistics (0 prompts) in their slots.
    if (slots.size() == predictors.size()) continue;
    std::vector<RunningStatistics> full(predictors.size());
    for (std::size_t k = 0; k < slots.size(); ++k) full[slots[k]] = chunk[k];
    chunk = std::move(full);
  }
  return statistics;
}

PointTheory point_theory(const GridPoint& point, const std::vector<std::string>& predictors,
                         std::uint64_t seed) {
  const PromptLaw law = point.test_law(seed);
  const PointModel model = point_model(point, law, nullptr, seed);
  PointTheory theory;
  theory.source = theory_source(law, point.test_length);
  for (const auto& name : predictors) theory.risks.push_back(model.theory(name).value_or(NAN));
  return theory;
}

}  // namespace icl
