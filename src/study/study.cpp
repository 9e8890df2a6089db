#include "study/study.hpp"

#include "core/errors.hpp"
#include "core/predictors.hpp"
#include "core/rng.hpp"
#include "evaluation/monte_carlo.hpp"
#include "evaluation/point_evaluation.hpp"
#include "study/limits.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace icl {
namespace {

/// The names of the study's predictors that `point` evaluates (its [grid] block's `predictors`).
std::vector<std::string> evaluated_predictors(const StudyConfig& config, const GridPoint& point) {
  std::vector<std::string> names;
  for (std::size_t p = 0; p < config.predictors.size(); ++p)
    if (point.evaluates(p)) names.push_back(config.predictors[p]);
  return names;
}

/// Which points the sufficient-statistic sampler serves: all of the point's predictors must be
/// LinearForms and its test law Gaussian with a linear task (sufficient_sampler_obstacle).
void decide_samplers(Study& study) {
  const auto& config = study.config;
  if (config.sampler == SamplerChoice::plain) return;
  const bool lsa_linear = config.training.method == TrainingMethod::flow ||
                          config.training.method == TrainingMethod::closed_form;
  for (auto& point : study.points) {
    const auto names = evaluated_predictors(config, point);
    std::string obstacle;
    for (const auto& name : names)
      if (!has_linear_form(name, lsa_linear)) {
        obstacle = "predictor '" + name + "' is not a function of S, h and x_q";
        if (name == "lsa") obstacle += " after stochastic training (p, q != 0)";
        break;
      }
    const bool has_lsa = std::find(names.begin(), names.end(), "lsa") != names.end();
    if (obstacle.empty() && has_lsa && point.model_spec.depth > 0)
      obstacle = "predictor 'lsa' is the deep model " + point.model;
    if (obstacle.empty()) obstacle = sufficient_sampler_obstacle(point.test_law(config.seed));
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
    const ModelSpec& spec = point.model_spec;
    const double layers = spec.blocks();
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
  // Covariances are parsed once per (spec, d) and shared: a rotated one holds a d x d matrix.
  std::map<std::pair<std::string, int>, std::shared_ptr<const Covariance>> covariances;
  const bool configured_task = trains_on_configured_task(config.training.method);
  std::map<std::string, std::size_t> point_index;
  // The predictors a block evaluates, as a mask over the study's (empty: all).
  auto block_mask = [&](const GridConfig& grid) {
    std::vector<bool> mask;
    if (grid.predictors.empty()) return mask;
    for (const auto& name : config.predictors)
      mask.push_back(std::find(grid.predictors.begin(), grid.predictors.end(), name) !=
                     grid.predictors.end());
    return mask;
  };
  auto add_point = [&](int dim, int n, int m, const std::string& shift,
                       const std::string& covariance, const std::string& task,
                       const std::string& model, const std::vector<bool>& evaluated) {
    auto& inputs = covariances[{covariance, dim}];
    GridPoint point =
        make_grid_point(dim, n, m, shift, covariance, task, model, config.seed, inputs);
    inputs = point.inputs;
    // Deeper models train by Adam on the configured task, like SGD and Adam for the one layer.
    const bool deep = point.model_spec.depth > 0;
    // The model enters the keys only when it is not the default, so that the one-layer study's
    // keys (and so its random numbers and results) are the same with or without the axis.
    const std::string model_suffix = deep ? ";model=" + model : std::string();
    const std::string training_task = configured_task || deep ? task : "linear";
    const std::string setting_key = "d=" + std::to_string(dim) + ";N=" + std::to_string(n) +
                                    ";covariance=" + covariance + ";task=" + training_task +
                                    model_suffix;
    const std::string point_key = "d=" + std::to_string(dim) + ";N=" + std::to_string(n) +
                                  ";covariance=" + covariance + ";task=" + task +
                                  ";M=" + std::to_string(m) + ";shift=" + shift + model_suffix;
    // A sweep multiplies the point by the variants of its model's training and by the replicates
    // (the variant fastest, then the replicate); nothing is multiplied when no model is trained.
    const bool trained = needs_trained_models(config);
    const std::size_t variants = !trained ? 1
                                 : deep   ? config.model_variants.size()
                                          : config.training_variants.size();
    const int replicates = trained ? config.sweep.replicates : 1;
    for (std::size_t variant = 0; variant < variants; ++variant)
      for (int replicate = 0; replicate < replicates; ++replicate) {
        const std::string& label =
            deep ? config.model_variants[variant].label : config.training_variants[variant].label;
        // Replicate 0 and every variant share the unreplicated setting's streams (common random
        // numbers: candidates differ by their hyperparameters only); replicate r > 0 has its own.
        const std::string replicate_suffix =
            replicate > 0 ? ";replicate=" + std::to_string(replicate) : std::string();
        const std::string key = setting_key + (label.empty() ? "" : ";" + label) + replicate_suffix;
        if (const auto [it, inserted] =
                point_index.emplace(point_key + "|" + key, study.points.size());
            !inserted) {
          // Repeated by another block: once, with the predictors of both.
          GridPoint& earlier = study.points[it->second];
          if (earlier.evaluated.empty() || evaluated.empty())
            earlier.evaluated.clear();
          else
            for (std::size_t p = 0; p < evaluated.size(); ++p)
              earlier.evaluated[p] = earlier.evaluated[p] || evaluated[p];
          continue;
        }
        auto [it, inserted] = setting_index.emplace(key, study.settings.size());
        if (inserted) {
          TrainingSetting setting;
          setting.dim = dim;
          setting.train_length = n;
          setting.covariance = covariance;
          setting.task = training_task;
          setting.model = model;
          setting.inputs = point.inputs;
          setting.task_law = Task::parse(training_task);
          setting.model_spec = point.model_spec;
          setting.variant = variant;
          setting.variant_label = label;
          setting.replicate = replicate;
          setting.key = key;
          setting.random_address = stable_hash("train|" + setting_key + replicate_suffix);
          study.settings.push_back(std::move(setting));
        }
        GridPoint copy = point;
        copy.setting = it->second;
        copy.evaluated = evaluated;
        // The test prompts are the same for every variant and replicate (paired comparisons).
        copy.random_address = stable_hash("point|" + point_key);
        study.points.push_back(std::move(copy));
      }
  };
  for (const auto& grid : config.grids) {
    const std::vector<bool> evaluated = block_mask(grid);
    for (int dim : grid.dim)
      for (int n : grid.train_length)
        for (int m : grid.test_length)
          for (const auto& shift : grid.shift)
            for (const auto& covariance : grid.covariance)
              for (const auto& task : grid.task)
                for (const auto& model : grid.model)
                  add_point(dim, n, m, shift, covariance, task, model, evaluated);
  }
  study.config = std::move(config);
  decide_samplers(study);
  check_working_memory(study);
  return study;
}

const TrainingConfig& training_of(const StudyConfig& config, const TrainingSetting& setting) {
  return setting.model_spec.depth > 0 ? config.training
                                      : config.training_variants.at(setting.variant).options;
}

const DeepTrainingOptions& models_of(const StudyConfig& config, const TrainingSetting& setting) {
  return setting.model_spec.depth > 0 ? config.model_variants.at(setting.variant).options
                                      : config.models;
}

bool needs_trained_models(const StudyConfig& config) {
  return std::find(config.predictors.begin(), config.predictors.end(), "lsa") !=
         config.predictors.end();
}

double point_cost(const Study& study, const GridPoint& point) {
  const ModelSpec& spec = point.model_spec;
  return estimated_point_seconds(point.dim, point.test_length,
                                 evaluated_predictors(study.config, point), study.config.prompts,
                                 point.sufficient, spec.depth * spec.heads);
}

UnitPlan plan_work(const Study& study, const std::vector<std::size_t>& points, int ranks) {
  std::vector<double> costs;
  std::vector<std::uint32_t> chunks;
  for (std::size_t i : points) {
    costs.push_back(point_cost(study, study.points[i]));
    chunks.push_back(chunk_count(study.config.prompts));
  }
  UnitPlan plan = balanced_units(costs, chunks, ranks);
  for (auto& unit : plan.units) unit.item = points[unit.item];
  return plan;
}

void check_models(const ResultData& result, const Study& study, const std::string& source) {
  for (const auto& model : result.models)
    for (const auto& setting : study.settings) {
      if (setting.key != model.key) continue;
      const ModelSpec& spec = setting.model_spec;
      const Eigen::Index size = setting.dim + 1;
      const Eigen::Index rows = size * spec.blocks();
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
    const TrainingSetting& setting = study.settings[point.setting];
    const TrainingColumns columns =
        training_columns(setting, training_of(config, setting), models_of(config, setting));
    data.points.training.push_back(setting.variant_label);
    data.points.replicate.push_back(setting.replicate);
    data.points.optimiser.push_back(columns.optimiser);
    data.points.learning_rate.push_back(columns.learning_rate);
    data.points.batch.push_back(columns.batch);
    data.points.steps.push_back(columns.steps);
    data.points.warmup_fraction.push_back(columns.warmup_fraction);
    data.points.schedule.push_back(columns.schedule);
    data.points.decay_every.push_back(columns.decay_every);
    data.points.decay_factor.push_back(columns.decay_factor);
    data.points.sigma.push_back(columns.sigma);
    data.points.init.push_back(columns.init);
    data.points.model_key.push_back(setting.key);
    data.points.status.push_back(0);
    data.points.seconds.push_back(0.0);
    data.points.theory_source.push_back("none");
    data.points.sampler.push_back(point.sufficient ? "sufficient" : "plain");
    data.points.estimated_seconds.push_back(point_cost(study, point));
  }
  const std::size_t n = study.points.size();
  for (const auto& name : config.predictors)
    data.predictors.push_back(PredictorColumns::empty(name, n));
  data.models = std::move(models);
  return data;
}

void fill_theory(const Study& study, ResultData& result) {
  std::vector<std::string> names;
  for (const auto& columns : result.predictors) names.push_back(columns.name);
  for (std::size_t i = 0; i < study.points.size(); ++i) {
    const auto theory = point_theory(study.points[i], names, study.config.seed);
    result.points.theory_source[i] = theory.source;
    for (std::size_t p = 0; p < result.predictors.size(); ++p)
      result.predictors[p].theory[i] = theory.risks[p];
  }
}

}  // namespace icl
