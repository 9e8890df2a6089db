#include "training/rung_training.hpp"

#include "core/errors.hpp"

#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace icl {
namespace {

/// The inverse of store_weights (setting_training.hpp), into parameters of the right shape.
template <typename Parameters>
void load_weights(const ModelRecord& model, Parameters& parameters) {
  auto pairs = weight_pairs(parameters);
  const Eigen::Index size = pairs.front().value_projection.rows();
  if (model.value_projection.rows() != size * static_cast<Eigen::Index>(pairs.size()))
    throw ConfigError("model " + model.key + ": W_PV has the wrong shape for " + model.model);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const auto row = static_cast<Eigen::Index>(k) * size;
    pairs[k].value_projection = model.value_projection.middleRows(row, size);
    pairs[k].key_query = model.key_query.middleRows(row, size);
  }
}

/// Adam's moments as one vector: pair by pair, W^{PV} then W^{KQ}, each column-major.
template <typename Parameters>
std::vector<double> flatten(const Parameters& parameters) {
  std::vector<double> values;
  for (const auto& pair : weight_pairs(parameters))
    for (const Eigen::MatrixXd* m : {&pair.value_projection, &pair.key_query})
      values.insert(values.end(), m->data(), m->data() + m->size());
  return values;
}

template <typename Parameters>
void unflatten(const std::vector<double>& values, Parameters& parameters, const std::string& key) {
  std::size_t at = 0;
  for (auto& pair : weight_pairs(parameters))
    for (Eigen::MatrixXd* m : {&pair.value_projection, &pair.key_query}) {
      const auto size = static_cast<std::size_t>(m->size());
      if (at + size > values.size())
        throw ConfigError("model " + key + ": its saved optimiser state is too short");
      std::copy(values.begin() + at, values.begin() + at + size, m->data());
      at += size;
    }
  if (at != values.size())
    throw ConfigError("model " + key + ": its saved optimiser state is too long");
}

const char* const state_numbers[] = {"state_initial_loss", "state_last_finite_loss",
                                     "state_loss_since_record", "state_steps_since_record"};

/// The trainer's state into the record: the weights always, the rest only while the run is
/// unfinished (a finished model is stored as train_setting stores it).
template <typename Parameters>
void store_state(ModelRecord& model, const MinibatchState<Parameters>& state, std::uint32_t steps) {
  store_weights(model, state.parameters);
  model.numbers["trained_steps"] = state.step;
  if (state.step < steps) {
    model.curves["state_first"] = flatten(state.first);
    model.curves["state_second"] = flatten(state.second);
    model.numbers["state_initial_loss"] = state.initial_loss;
    model.numbers["state_last_finite_loss"] = state.last_finite_loss;
    model.numbers["state_loss_since_record"] = state.loss_since_record;
    model.numbers["state_steps_since_record"] = state.steps_since_record;
  } else {
    drop_training_state(model);
  }
}

/// The state saved in an earlier piece's record, into `state` (whose parameters give the
/// shapes).
template <typename Parameters>
void load_state(const ModelRecord& model, MinibatchState<Parameters>& state) {
  auto number = [&](const char* name) {
    const auto found = model.numbers.find(name);
    if (found == model.numbers.end())
      throw ConfigError("model " + model.key + ": its saved training state lacks " + name);
    return found->second;
  };
  auto curve = [&](const char* name) -> const std::vector<double>& {
    const auto found = model.curves.find(name);
    if (found == model.curves.end())
      throw ConfigError("model " + model.key + ": its saved training state lacks " + name);
    return found->second;
  };
  load_weights(model, state.parameters);
  unflatten(curve("state_first"), state.first, model.key);
  unflatten(curve("state_second"), state.second, model.key);
  state.step = trained_steps(model);
  state.initial_loss = number("state_initial_loss");
  state.last_finite_loss = number("state_last_finite_loss");
  state.loss_since_record = number("state_loss_since_record");
  state.steps_since_record = static_cast<std::uint32_t>(number("state_steps_since_record"));
}

/// One piece of a deep model's run (lsa-L or softmax-L-H).
template <typename Parameters>
void advance_deep(ModelRecord& model, MinibatchState<Parameters> state, bool resumed,
                  const TrainingSetting& setting, const DeepTrainingOptions& options,
                  std::uint64_t seed, std::uint32_t until) {
  if (resumed) load_state(model, state);
  const PromptLaw law = PromptLaw::unshifted(*setting.inputs, setting.task_law);
  std::vector<double>& steps = model.curves["step"];
  advance_deep_model(state, until, law, static_cast<int>(setting.train_length), options, seed,
                     setting.random_address, steps, model.loss);
  model.numbers["steps"] = options.steps;
  store_state(model, state, options.steps);
}

/// Continue the setting's trainer to step `until` (from the record's saved state when resumed).
void advance_to(ModelRecord& model, bool resumed, const TrainingSetting& setting,
                const TrainingConfig& training, const DeepTrainingOptions& models,
                std::uint64_t seed, std::uint32_t until, int dim) {
  if (const ModelSpec& spec = setting.model_spec; spec.depth > 0) {
    if (spec.kind == ModelSpec::Kind::softmax)
      advance_deep(model,
                   start_softmax_attention(dim, spec.depth, spec.heads, models, seed,
                                           setting.random_address),
                   resumed, setting, models, seed, until);
    else {
      const auto initial = spec.starts_at_gd && !resumed
                               ? std::optional(reference_weights(setting, seed).parameters)
                               : std::nullopt;
      advance_deep(model,
                   start_deep_lsa(dim, spec.depth, models, seed, setting.random_address,
                                  initial ? &*initial : nullptr),
                   resumed, setting, models, seed, until);
    }
  } else {
    const StochasticOptions& options = training.stochastic;
    auto state = start_stochastic(dim, options, seed, setting.random_address);
    if (resumed) load_state(model, state);
    std::vector<StochasticRecord> curve;
    advance_stochastic(state, until, *setting.inputs, static_cast<int>(setting.train_length),
                       options, seed, setting.random_address, setting.task_law, curve);
    for (const auto& row : curve) {
      model.loss.push_back(row.loss);
      model.curves["step"].push_back(row.step);
      model.curves["distance"].push_back(row.distance);
      model.curves["p_norm"].push_back(row.p_norm);
      model.curves["q_norm"].push_back(row.q_norm);
    }
    const auto& distance = model.curves["distance"];
    model.numbers["final_distance"] = distance.empty() ? NAN : distance.back();
    store_state(model, state, options.steps);
  }
}

}  // namespace

void drop_training_state(ModelRecord& model) {
  model.curves.erase("state_first");
  model.curves.erase("state_second");
  for (const char* name : state_numbers) model.numbers.erase(name);
}

bool trains_in_steps(const TrainingSetting& setting, const TrainingConfig& training) {
  return setting.model_spec.depth > 0 || training.method == TrainingMethod::sgd ||
         training.method == TrainingMethod::adam;
}

std::uint32_t run_steps(const TrainingSetting& setting, const TrainingConfig& training,
                        const DeepTrainingOptions& models) {
  return setting.model_spec.depth > 0 ? models.steps : training.stochastic.steps;
}

std::uint32_t trained_steps(const ModelRecord& model) {
  const auto found = model.numbers.find("trained_steps");
  if (found != model.numbers.end()) return static_cast<std::uint32_t>(found->second);
  const auto steps = model.numbers.find("steps");
  return steps == model.numbers.end() ? 0 : static_cast<std::uint32_t>(steps->second);
}

ModelRecord train_setting_to(const TrainingSetting& setting, const TrainingConfig& training,
                             const DeepTrainingOptions& models, std::uint64_t seed,
                             std::uint32_t validation_prompts, std::uint32_t until,
                             const ModelRecord* earlier) {
  if (!trains_in_steps(setting, training))
    throw ConfigError("training " + setting.key + ": " + to_string(training.method) +
                      " does not train in steps");
  const auto start = std::chrono::steady_clock::now();
  ModelRecord model = earlier ? *earlier : untrained_record(setting, training);
  const bool resumed = earlier != nullptr;
  const int dim = static_cast<int>(setting.dim);
  try {
    advance_to(model, resumed, setting, training, models, seed, until, dim);
  } catch (const NumericalError& e) {
    // A candidate whose learning rate is too large is a result of the sweep, not a failure of
    // the run: it keeps its last good record, its loss is +inf, and halving drops it.
    ModelRecord diverged = earlier ? *earlier : untrained_record(setting, training);
    if (!earlier) {  // diverged before its first rung: zero weights of the model's shape
      const ModelSpec& spec = setting.model_spec;
      const Eigen::Index size = dim + 1, rows = size * spec.blocks();
      diverged.value_projection = Eigen::MatrixXd::Zero(rows, size);
      diverged.key_query = Eigen::MatrixXd::Zero(rows, size);
    }
    describe_hyperparameters(diverged, setting, training, models);
    diverged.texts["diverged"] = e.what();
    diverged.numbers["diverged_before_steps"] = until;
    diverged.numbers["validation_loss"] = INFINITY;
    diverged.numbers["validation_stderr"] = NAN;
    diverged.curves["rung_steps"].push_back(until);
    diverged.curves["rung_validation_loss"].push_back(INFINITY);
    diverged.curves["rung_validation_stderr"].push_back(NAN);
    drop_training_state(diverged);
    return diverged;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  model.numbers["seconds"] = (resumed ? model.numbers["seconds"] : 0.0) + seconds;
  describe_training(model, setting, training, models, seed, validation_prompts);
  model.curves["rung_steps"].push_back(trained_steps(model));
  model.curves["rung_validation_loss"].push_back(model.numbers["validation_loss"]);
  model.curves["rung_validation_stderr"].push_back(model.numbers["validation_stderr"]);
  return model;
}

}  // namespace icl
