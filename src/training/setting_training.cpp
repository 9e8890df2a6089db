#include "training/setting_training.hpp"

#include "core/baselines.hpp"
#include "core/rng.hpp"
#include "core/theory.hpp"
#include "training/batched_gradients.hpp"
#include "training/parallel_for.hpp"

#include <Eigen/LU>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

namespace icl {

const char* to_string(TrainingMethod method) {
  switch (method) {
    case TrainingMethod::flow:
      return "flow";
    case TrainingMethod::sgd:
      return "sgd";
    case TrainingMethod::adam:
      return "adam";
    case TrainingMethod::closed_form:
      return "closed-form";
  }
  return "?";
}

bool trains_on_configured_task(TrainingMethod method) {
  return method == TrainingMethod::sgd || method == TrainingMethod::adam;
}

double training_cost(const TrainingSetting& setting, const DeepTrainingOptions& models) {
  // Seconds on one core. The flow is O(d³). Adam on a deep model draws steps x batch prompts
  // (d(N + 2) normals each, with the labels and the lanes' embedding) and passes each forward and
  // back through the batched kernels; the two coefficients are a least-squares fit to
  // bench_training's model_steps (tests/bench/torch_compare.py prints the fit; README
  // "Performance"): 7.3 ns per normal, 53 ps per multiply-add.
  const double d = setting.dim;
  const ModelSpec& spec = setting.model_spec;
  if (spec.depth == 0) return 1e-5 * d * d * d + 1e-3;
  const double per_prompt =
      7.3e-9 * d * (setting.train_length + 2) +
      5.3e-11 * batched_multiply_adds(spec.kind == ModelSpec::Kind::softmax, spec.depth,
                                      spec.heads, setting.dim, setting.train_length);
  return static_cast<double>(models.steps) * models.batch * per_prompt;
}

ModelRecord untrained_record(const TrainingSetting& setting, const TrainingConfig& training) {
  ModelRecord model;
  model.key = setting.key;
  model.dim = setting.dim;
  model.train_length = setting.train_length;
  model.covariance = setting.covariance;
  model.task = setting.task;
  model.model = setting.model;
  if (!setting.inputs->is_random()) model.input_covariance = setting.inputs->matrix();
  if (const ModelSpec& spec = setting.model_spec; spec.depth > 0) {
    model.method = "adam";
    model.numbers["depth"] = spec.depth;
    model.numbers["heads"] = spec.heads;
  } else {
    model.method = to_string(training.method);
  }
  return model;
}

namespace {

ModelRecord train_model(const TrainingSetting& setting, const TrainingConfig& training,
                        const DeepTrainingOptions& models, std::uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  const Covariance& covariance = *setting.inputs;
  ModelRecord model = untrained_record(setting, training);
  const int dim = setting.dim;
  if (const ModelSpec& spec = setting.model_spec; spec.depth > 0) {
    const PromptLaw law = PromptLaw::unshifted(covariance, setting.task_law);
    auto store = [&](const auto& trained) {
      store_weights(model, trained.parameters);
      model.loss = trained.losses;
      model.curves = {{"step", trained.steps}};
    };
    if (spec.kind == ModelSpec::Kind::softmax) {
      const auto trained = train_softmax_attention(
          law, setting.train_length, spec.depth, spec.heads, models, seed, setting.random_address);
      store(trained);
    } else {
      const auto initial = spec.starts_at_gd
                               ? std::optional(reference_weights(setting, seed).parameters)
                               : std::nullopt;
      const auto trained = train_deep_lsa(law, setting.train_length, spec.depth, models, seed,
                                          setting.random_address, initial ? &*initial : nullptr);
      store(trained);
    }
    model.numbers["steps"] = models.steps;
    model.numbers["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return model;
  }
  LsaParameters parameters;
  switch (training.method) {
    case TrainingMethod::flow: {
      const auto result = train_gradient_flow(covariance, setting.train_length, training.flow, seed,
                                              setting.random_address);
      parameters = result.parameters;
      std::vector<double> time, distance, balance;
      for (const auto& row : result.trajectory) {
        model.loss.push_back(row.loss);
        time.push_back(row.time);
        distance.push_back(row.distance);
        balance.push_back(row.balance);
      }
      model.curves = {{"time", time}, {"distance", distance}, {"balance", balance}};
      model.numbers["converged"] = result.converged ? 1.0 : 0.0;
      model.numbers["loss_gap"] = result.loss_gap;
      model.numbers["steps"] = static_cast<double>(result.steps);
      model.numbers["final_distance"] = distance.back();
      break;
    }
    case TrainingMethod::sgd:
    case TrainingMethod::adam: {
      const auto result = train_stochastic(covariance, setting.train_length, training.stochastic,
                                           seed, setting.random_address, setting.task_law);
      parameters = result.parameters;
      std::vector<double> step, distance, p_norm, q_norm;
      for (const auto& row : result.curve) {
        model.loss.push_back(row.loss);
        step.push_back(row.step);
        distance.push_back(row.distance);
        p_norm.push_back(row.p_norm);
        q_norm.push_back(row.q_norm);
      }
      model.curves = {
          {"step", step}, {"distance", distance}, {"p_norm", p_norm}, {"q_norm", q_norm}};
      model.numbers["final_distance"] = distance.empty() ? NAN : distance.back();
      break;
    }
    case TrainingMethod::closed_form: {
      // uU = V_* with the balanced split u = ‖V_*‖_F^{1/2}, U = V_* / u (Theorem 4.1's scale).
      const Eigen::MatrixXd target =
          covariance.is_random()
              ? theory::random_exp_preconditioner(dim, setting.train_length)
              : Eigen::MatrixXd(theory::gamma(covariance.matrix(), setting.train_length).inverse());
      const double u = std::sqrt(target.norm());
      parameters = LsaParameters::zero(dim);
      parameters.key_query.topLeftCorner(dim, dim) = target / u;
      parameters.value_projection(dim, dim) = u;
      model.numbers["final_distance"] = 0.0;
      break;
    }
  }
  model.value_projection = parameters.value_projection;
  model.key_query = parameters.key_query;
  model.numbers["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return model;
}

}  // namespace

TrainingColumns training_columns(const TrainingSetting& setting, const TrainingConfig& training,
                                 const DeepTrainingOptions& models) {
  TrainingColumns columns;
  const MinibatchOptions* minibatch = nullptr;
  if (setting.model_spec.depth > 0) {
    columns.optimiser = "adam";
    minibatch = &models;
  } else {
    columns.optimiser = to_string(training.method);
    if (training.method == TrainingMethod::flow) columns.sigma = training.flow.sigma;
    if (training.method == TrainingMethod::sgd || training.method == TrainingMethod::adam) {
      minibatch = &training.stochastic;
      columns.init = training.stochastic.init == Initialisation::dense ? "dense" : "assumption-3.3";
    }
  }
  if (minibatch) {
    columns.learning_rate = minibatch->learning_rate;
    columns.batch = minibatch->batch;
    columns.steps = minibatch->steps;
    columns.warmup_fraction = minibatch->warmup_fraction;
    columns.schedule = minibatch->decay_every > 0 ? "step" : "constant";
    columns.decay_every = minibatch->decay_every;
    if (minibatch->decay_every > 0) columns.decay_factor = minibatch->decay_factor;
    columns.sigma = minibatch->sigma;
  }
  return columns;
}

namespace {

/// E ½(ŷ − y)² of `predict` on `prompts` held-out prompts of the setting's training law, from a
/// stream of their own (never the training's or the test's), and its standard error.
template <typename Predict>
std::pair<double, double> held_out_loss(const TrainingSetting& setting, std::uint64_t seed,
                                        std::uint32_t prompts, const Predict& predict) {
  const PromptSampler sampler(PromptLaw::unshifted(*setting.inputs, setting.task_law),
                              setting.train_length);
  const std::uint64_t address = setting.random_address ^ stable_hash("validation");
  constexpr std::uint32_t block = 256;
  const std::uint32_t blocks = (prompts + block - 1) / block;
  std::vector<double> sums(blocks), squares(blocks);
  parallel_for<Prompt>(blocks, LoopSchedule::equal_blocks, [&](std::int64_t b, Prompt& prompt) {
    double sum = 0, square = 0;
    const std::uint32_t first = static_cast<std::uint32_t>(b) * block;
    for (std::uint32_t i = first; i < std::min(first + block, prompts); ++i) {
      sampler.sample(seed, address, i, prompt);
      const double error = predict(prompt) - prompt.query_label;
      const double loss = 0.5 * error * error;
      sum += loss;
      square += loss * loss;
    }
    sums[static_cast<std::size_t>(b)] = sum;
    squares[static_cast<std::size_t>(b)] = square;
  });
  double sum = 0, square = 0;  // in block order: the same bits for any thread count
  for (std::uint32_t b = 0; b < blocks; ++b) {
    sum += sums[b];
    square += squares[b];
  }
  const double mean = sum / prompts;
  const double variance = std::max(0.0, (square - prompts * mean * mean) / (prompts - 1.0));
  return {mean, std::sqrt(variance / prompts)};
}

}  // namespace

std::pair<double, double> validation_loss(const ModelRecord& model, const TrainingSetting& setting,
                                          std::uint64_t seed, std::uint32_t prompts) {
  const SettingModel parameters = parameters_of(model);
  return held_out_loss(setting, seed, prompts, [&](const Prompt& prompt) {
    return parameters.one_layer ? lsa_predict_reduced(prompt, *parameters.one_layer)
           : parameters.deep    ? deep_lsa_predict(embed(prompt), *parameters.deep)
                                : softmax_attention_predict(embed(prompt), *parameters.softmax);
  });
}

ReferenceWeights reference_weights(const TrainingSetting& setting, std::uint64_t seed) {
  const int steps = std::max(setting.model_spec.depth, 1);
  const Eigen::MatrixXd preconditioner =
      training_preconditioner(*setting.inputs, setting.train_length);
  ReferenceWeights reference;
  if (setting.model_spec.depth > 0) {
    reference.step =
        tune_gradient_step(PromptLaw::unshifted(*setting.inputs, setting.task_law),
                           setting.train_length, preconditioner, steps, seed,
                           step_tuning_address(setting.dim, setting.train_length,
                                               setting.covariance, setting.task, steps));
  }
  reference.parameters = DeepLsaParameters::preconditioned_gd(std::vector<Eigen::MatrixXd>(
      static_cast<std::size_t>(steps), reference.step * preconditioner));
  return reference;
}

ReferenceLoss reference_loss(const TrainingSetting& setting, std::uint64_t seed,
                             std::uint32_t prompts) {
  // Every candidate and replicate of a sweep shares its setting's reference: compute it once.
  using Key = std::tuple<int, int, std::string, std::string, int, std::uint64_t, std::uint32_t>;
  static std::mutex mutex;
  static std::map<Key, ReferenceLoss> computed;
  const Key key{setting.dim,  setting.train_length,     setting.covariance,
                setting.task, setting.model_spec.depth, seed,
                prompts};
  {
    const std::lock_guard lock(mutex);
    if (const auto found = computed.find(key); found != computed.end()) return found->second;
  }
  const ReferenceWeights weights = reference_weights(setting, seed);
  const auto [loss, standard_error] = held_out_loss(setting, seed, prompts, [&](const Prompt& p) {
    return deep_lsa_predict(embed(p), weights.parameters);
  });
  const ReferenceLoss result{loss, standard_error, weights.step};
  const std::lock_guard lock(mutex);
  computed.emplace(key, result);
  return result;
}

ModelRecord train_setting(const TrainingSetting& setting, const TrainingConfig& training,
                          const DeepTrainingOptions& models, std::uint64_t seed,
                          std::uint32_t validation_prompts) {
  ModelRecord model = train_model(setting, training, models, seed);
  describe_training(model, setting, training, models, seed, validation_prompts);
  return model;
}

void describe_hyperparameters(ModelRecord& model, const TrainingSetting& setting,
                              const TrainingConfig& training, const DeepTrainingOptions& models) {
  const TrainingColumns columns = training_columns(setting, training, models);
  model.texts["training"] = setting.variant_label;
  model.texts["optimiser"] = columns.optimiser;
  if (!columns.schedule.empty()) model.texts["schedule"] = columns.schedule;
  if (!columns.init.empty()) model.texts["init"] = columns.init;
  model.numbers["replicate"] = setting.replicate;
  auto put = [&](const char* name, double value) {
    if (std::isfinite(value)) model.numbers[name] = value;
  };
  put("learning_rate", columns.learning_rate);
  put("warmup_fraction", columns.warmup_fraction);
  put("decay_factor", columns.decay_factor);
  put("sigma", columns.sigma);
  if (columns.batch > 0) put("batch", static_cast<double>(columns.batch));
  if (columns.decay_every > 0) put("decay_every", static_cast<double>(columns.decay_every));
}

void describe_training(ModelRecord& model, const TrainingSetting& setting,
                       const TrainingConfig& training, const DeepTrainingOptions& models,
                       std::uint64_t seed, std::uint32_t validation_prompts) {
  describe_hyperparameters(model, setting, training, models);
  // Selection is by this loss on held-out prompts of the training law, never by test risk.
  const auto [loss, standard_error] = validation_loss(model, setting, seed, validation_prompts);
  model.numbers["validation_loss"] = loss;
  model.numbers["validation_stderr"] = standard_error;
  // On the same prompts: the hand-built weights of max(L, 1) steps of preconditioned GD (L* for
  // ZFB's one layer), so that a loss says how far training got from what the construction gives.
  const ReferenceLoss reference = reference_loss(setting, seed, validation_prompts);
  model.numbers["reference_loss"] = reference.loss;
  model.numbers["reference_stderr"] = reference.standard_error;
  model.numbers["reference_step"] = reference.step;
}

SettingModel parameters_of(const ModelRecord& model) {
  SettingModel result;
  const ModelSpec spec = parse_model(model.model);
  if (spec.depth == 0) {
    result.one_layer = LsaParameters{model.value_projection, model.key_query};
    return result;
  }
  const Eigen::Index size = model.dim + 1;
  std::vector<LsaParameters> pairs;
  for (Eigen::Index k = 0; k * size < model.value_projection.rows(); ++k)
    pairs.push_back({model.value_projection.middleRows(k * size, size),
                     model.key_query.middleRows(k * size, size)});
  if (spec.kind == ModelSpec::Kind::softmax) {
    SoftmaxParameters softmax;
    softmax.heads = spec.heads;
    softmax.weights = std::move(pairs);
    result.softmax = std::move(softmax);
  } else {
    result.deep = DeepLsaParameters{std::move(pairs)};
  }
  return result;
}

}  // namespace icl
