#include "training/setting_training.hpp"

#include "core/theory.hpp"

#include <Eigen/LU>

#include <chrono>
#include <cmath>

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
  // Seconds, roughly: the flow is O(d³); Adam on a deep model is steps x batch forward-backward
  // passes.
  const double d = setting.dim;
  const int depth = setting.model_spec.depth * setting.model_spec.heads;
  return depth == 0 ? 1e-5 * d * d * d + 1e-3
                    : 6e-9 * models.steps * models.batch * depth * (d + 1) * (d + 1) *
                          (setting.train_length + 1);
}

ModelRecord train_setting(const TrainingSetting& setting, const TrainingConfig& training,
                          const DeepTrainingOptions& models, std::uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  const Covariance& covariance = *setting.inputs;
  ModelRecord model;
  model.key = setting.key;
  model.dim = setting.dim;
  model.train_length = setting.train_length;
  model.covariance = setting.covariance;
  model.task = setting.task;
  model.method = to_string(training.method);
  model.model = setting.model;
  const int dim = setting.dim;
  if (const ModelSpec& spec = setting.model_spec; spec.depth > 0) {
    const Task& task = setting.task_law;
    PromptLaw law(covariance, task.noise_std);
    law.task = task;
    // Both stacks are lists of (W^{PV}, W^{KQ}) pairs, stored one above the other.
    auto store = [&](const std::vector<LsaParameters>& pairs, const auto& trained) {
      const Eigen::Index size = dim + 1;
      const auto count = static_cast<Eigen::Index>(pairs.size());
      model.value_projection.resize(count * size, size);
      model.key_query.resize(count * size, size);
      for (Eigen::Index k = 0; k < count; ++k) {
        model.value_projection.middleRows(k * size, size) = pairs[k].value_projection;
        model.key_query.middleRows(k * size, size) = pairs[k].key_query;
      }
      model.loss = trained.losses;
      model.curves = {{"step", trained.steps}};
    };
    if (spec.kind == ModelSpec::Kind::softmax) {
      const auto trained = train_softmax_attention(
          law, setting.train_length, spec.depth, spec.heads, models, seed, setting.random_address);
      store(trained.parameters.weights, trained);
    } else {
      const auto trained = train_deep_lsa(law, setting.train_length, spec.depth, models, seed,
                                          setting.random_address);
      store(trained.parameters.layers, trained);
    }
    model.method = "adam";
    model.numbers["depth"] = spec.depth;
    model.numbers["heads"] = spec.heads;
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
