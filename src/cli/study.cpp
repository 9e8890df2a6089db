#include "cli/study.hpp"

#include "cli/limits.hpp"
#include "core/covariance.hpp"
#include "core/errors.hpp"
#include "core/predictors.hpp"
#include "core/prompt.hpp"
#include "core/rng.hpp"
#include "core/shift.hpp"
#include "core/task.hpp"
#include "core/theory.hpp"
#include "evaluation/monte_carlo.hpp"

#include <omp.h>

#include <Eigen/LU>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace icl {
namespace {

std::string describe(const GridPoint& point) {
  return "point d=" + std::to_string(point.dim) + " N=" + std::to_string(point.train_length) +
         " M=" + std::to_string(point.test_length) + " shift=" + point.shift +
         " covariance=" + point.covariance + " task=" + point.task;
}

/// Which points the sufficient-statistic sampler serves: all of the point's predictors must be
/// LinearForms and its test law Gaussian with a linear task (sufficient_sampler_obstacle).
void decide_samplers(Study& study) {
  const auto& config = study.config;
  if (config.sampler == SamplerChoice::plain) return;
  const bool lsa_linear = config.training.method == TrainingMethod::flow ||
                          config.training.method == TrainingMethod::closed_form;
  std::string predictor_obstacle;
  for (const auto& name : config.predictors)
    if (!has_linear_form(name, lsa_linear)) {
      predictor_obstacle = "predictor '" + name + "' is not a function of S, h and x_q";
      if (name == "lsa") predictor_obstacle += " after stochastic training (p, q != 0)";
      break;
    }
  std::map<std::pair<std::string, int>, Covariance> covariances;
  const bool has_lsa = std::find(config.predictors.begin(), config.predictors.end(), "lsa") !=
                       config.predictors.end();
  for (auto& point : study.points) {
    std::string obstacle = predictor_obstacle;
    if (obstacle.empty() && has_lsa && point.model != "lsa")
      obstacle = "predictor 'lsa' is the deep model " + point.model;
    if (obstacle.empty()) {
      const auto key = std::make_pair(point.covariance, point.dim);
      auto it = covariances.find(key);
      if (it == covariances.end())
        it = covariances.emplace(key, Covariance::parse(point.covariance, point.dim, config.seed))
                 .first;
      const PromptLaw law = PromptLaw::shifted(it->second, Shift::parse(point.shift), config.seed,
                                               Task::parse(point.task));
      obstacle = sufficient_sampler_obstacle(law);
    }
    if (!obstacle.empty() && config.sampler == SamplerChoice::sufficient)
      throw ConfigError(config.source + ": [study] sampler = \"sufficient\": " + describe(point) +
                        ": " + obstacle + " (use \"auto\" or \"plain\")");
    point.sufficient = obstacle.empty();
  }
}

/// Every OpenMP thread holds a prompt (and a model's activations on it) while it evaluates a point,
/// and a training prompt while it trains: refuse a point whose working set cannot fit in half of
/// the memory, naming the axis that makes it large, instead of failing after minutes of work.
void check_working_memory(const Study& study) {
  const double budget = limits::available_memory_bytes() / 2;
  const double threads = omp_get_max_threads();
  for (const auto& point : study.points) {
    const double width = point.dim + 1.0;
    const ModelSpec spec = parse_model(point.model);
    const double layers = std::max(1, spec.depth * spec.heads);
    // Plain sampler: inputs, their transform, labels and the model's activations, per layer.
    const double evaluation = point.sufficient
                                  ? 8.0 * 8 * width * width
                                  : 8.0 * width * (point.test_length + 1.0) * (3 + layers);
    const double training = 8.0 * width * (point.train_length + 1.0) * (3 + layers);
    const bool long_test = evaluation >= training;
    const double bytes = threads * std::max(evaluation, training);
    if (bytes <= budget) continue;
    std::ostringstream message;
    message << study.config.source << ": [grid] " << (long_test ? "M" : "N") << ": "
            << describe(point) << " needs about " << bytes / 1e9 << " GB of working memory ("
            << threads << " threads x one prompt of length "
            << (long_test ? point.test_length : point.train_length) << " at d = " << point.dim
            << "), more than half of this machine's " << budget * 2 / 1e9 << " GB; shorten "
            << (long_test ? "M" : "N") << " or d, or use fewer threads";
    throw ConfigError(message.str());
  }
}

}  // namespace

Study expand_study(StudyConfig config) {
  Study study;
  std::map<std::string, std::size_t> setting_index;
  std::set<std::string> seen;
  // Gradient flow and the closed form train on linear tasks (ZFB's setting; a nonlinear task then
  // changes only the test); SGD and Adam train on the configured task.
  const bool stochastic = config.training.method == TrainingMethod::sgd ||
                          config.training.method == TrainingMethod::adam;
  auto add_point = [&](int dim, int n, int m, const std::string& shift,
                       const std::string& covariance, const std::string& task,
                       const std::string& model) {
    // Deeper models train by Adam on the configured task, like SGD and Adam for the one layer.
    const bool deep = model != "lsa";
    // The model enters the keys only when it is not the default, so that the one-layer study's
    // keys (and so its random numbers and results) are the same with or without the axis.
    const std::string model_suffix = deep ? ";model=" + model : std::string();
    const std::string setting_key =
        "d=" + std::to_string(dim) + ";N=" + std::to_string(n) + ";covariance=" + covariance +
        ";task=" + (stochastic || deep ? task : "linear") + model_suffix;
    const std::string point_key = "d=" + std::to_string(dim) + ";N=" + std::to_string(n) +
                                  ";covariance=" + covariance + ";task=" + task +
                                  ";M=" + std::to_string(m) + ";shift=" + shift + model_suffix;
    if (!seen.insert(point_key).second) return;  // repeated by another [[grid]] block
    auto [it, inserted] = setting_index.emplace(setting_key, study.settings.size());
    if (inserted) {
      TrainingSetting setting;
      setting.dim = dim;
      setting.train_length = n;
      setting.covariance = covariance;
      setting.task = stochastic || deep ? task : "linear";
      setting.model = model;
      setting.key = setting_key;
      setting.random_address = stable_hash("train|" + setting_key);
      study.settings.push_back(setting);
    }
    GridPoint point;
    point.dim = dim;
    point.train_length = n;
    point.test_length = m;
    point.shift = shift;
    point.covariance = covariance;
    point.task = task;
    point.model = model;
    point.setting = it->second;
    point.random_address = stable_hash("point|" + point_key);
    study.points.push_back(std::move(point));
  };
  for (const auto& grid : config.grids)
    for (int dim : grid.dim)
      for (int n : grid.train_length)
        for (int m : grid.test_length)
          for (const auto& shift : grid.shift)
            for (const auto& covariance : grid.covariance)
              for (const auto& task : grid.task)
                for (const auto& model : grid.model)
                  add_point(dim, n, m, shift, covariance, task, model);
  study.config = std::move(config);
  decide_samplers(study);
  check_working_memory(study);
  return study;
}

double point_cost(const Study& study, const GridPoint& point) {
  const ModelSpec spec = parse_model(point.model);
  return estimated_point_seconds(point.dim, point.test_length, study.config.predictors,
                                 study.config.prompts, point.sufficient, spec.depth * spec.heads);
}

std::uint64_t tuning_address(const GridPoint& point) {
  return point.random_address ^ stable_hash("step tuning");
}

ModelRecord train_setting(const TrainingSetting& setting, const StudyConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  const Covariance covariance = Covariance::parse(setting.covariance, setting.dim, config.seed);
  ModelRecord model;
  model.key = setting.key;
  model.dim = setting.dim;
  model.train_length = setting.train_length;
  model.covariance = setting.covariance;
  model.task = setting.task;
  model.method = to_string(config.training.method);
  model.model = setting.model;
  const int dim = setting.dim;
  if (const ModelSpec spec = parse_model(setting.model); spec.depth > 0) {
    const Task task = Task::parse(setting.task);
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
      const auto trained =
          train_softmax_attention(law, setting.train_length, spec.depth, spec.heads, config.models,
                                  config.seed, setting.random_address);
      store(trained.parameters.weights, trained);
    } else {
      const auto trained = train_deep_lsa(law, setting.train_length, spec.depth, config.models,
                                          config.seed, setting.random_address);
      store(trained.parameters.layers, trained);
    }
    model.method = "adam";
    model.numbers["depth"] = spec.depth;
    model.numbers["heads"] = spec.heads;
    model.numbers["steps"] = config.models.steps;
    model.numbers["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return model;
  }
  LsaParameters parameters;
  switch (config.training.method) {
    case TrainingMethod::flow: {
      const auto result =
          train_gradient_flow(covariance, setting.train_length, config.training.flow, config.seed,
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
      const auto result =
          train_stochastic(covariance, setting.train_length, config.training.stochastic,
                           config.seed, setting.random_address, Task::parse(setting.task));
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

void check_models(const ResultData& result, const Study& study, const std::string& source) {
  for (const auto& model : result.models)
    for (const auto& setting : study.settings) {
      if (setting.key != model.key) continue;
      const ModelSpec spec = parse_model(setting.model);
      const Eigen::Index size = setting.dim + 1;
      const Eigen::Index rows = size * std::max(1, spec.depth * spec.heads);
      auto check = [&](const Eigen::MatrixXd& matrix, const char* name) {
        if (matrix.rows() != rows || matrix.cols() != size)
          throw ConfigError(source + ": model " + model.key + ": " + name + " is " +
                            std::to_string(matrix.rows()) + "x" + std::to_string(matrix.cols()) +
                            ", expected " + std::to_string(rows) + "x" + std::to_string(size) +
                            " for " + setting.model + " at d = " + std::to_string(setting.dim) +
                            " (damaged file?)");
        if (!matrix.allFinite())
          throw ConfigError(source + ": model " + model.key + ": " + name +
                            " holds non-finite entries (damaged file?)");
      };
      check(model.value_projection, "W_PV");
      check(model.key_query, "W_KQ");
      if (model.model != setting.model)
        throw ConfigError(source + ": model " + model.key + " is " + model.model + ", expected " +
                          setting.model + " (damaged file?)");
    }
}

ResultData empty_result(const Study& study, std::vector<ModelRecord> models) {
  ResultData data;
  const auto& config = study.config;
  data.provenance.config = config.text;
  data.provenance.study = config.name;
  data.provenance.seed = static_cast<std::int64_t>(config.seed);
  data.provenance.rng =
      "philox4x32-10 (Random123); key = master seed; counter = (FNV-1a 64 of the "
      "point, prompt, stream << 24 | block); normals by a 256-layer ziggurat";
  for (const auto& point : study.points) {
    data.points.dim.push_back(point.dim);
    data.points.train_length.push_back(point.train_length);
    data.points.test_length.push_back(point.test_length);
    data.points.shift.push_back(point.shift);
    data.points.covariance.push_back(point.covariance);
    data.points.task.push_back(point.task);
    data.points.model.push_back(point.model);
    data.points.status.push_back(0);
    data.points.seconds.push_back(0.0);
    data.points.theory_source.push_back("none");
    data.points.sampler.push_back(point.sufficient ? "sufficient" : "plain");
    data.points.estimated_seconds.push_back(point_cost(study, point));
  }
  const std::size_t n = study.points.size();
  for (const auto& name : config.predictors)
    data.predictors.push_back({name, std::vector<double>(n, NAN), std::vector<double>(n, NAN),
                               std::vector<double>(n, NAN), std::vector<std::int64_t>(n, 0)});
  data.models = std::move(models);
  return data;
}

void fill_theory(const Study& study, ResultData& result) {
  for (std::size_t i = 0; i < study.points.size(); ++i) {
    const auto& point = study.points[i];
    const Covariance covariance = Covariance::parse(point.covariance, point.dim, study.config.seed);
    const PromptLaw law = PromptLaw::shifted(covariance, Shift::parse(point.shift),
                                             study.config.seed, Task::parse(point.task));
    PointModel model(covariance, point.train_length, law, point.test_length);
    model.use_deep_model(model_depth(point.model));
    result.points.theory_source[i] = theory_source(law, point.test_length);
    for (auto& columns : result.predictors)
      columns.theory[i] = model.theory(columns.name).value_or(NAN);
  }
}

}  // namespace icl
