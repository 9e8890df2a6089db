#pragma once
/// A study: the config's grid expanded into typed points (core/grid_point.hpp; the Cartesian
/// product, in the order d, N, M, shift, covariance, task, model) and the distinct training
/// settings the points share; and the result file that holds it.
#include "core/grid_point.hpp"
#include "io/result_file.hpp"
#include "parallel/partition.hpp"
#include "study/config.hpp"

#include <string>
#include <vector>

namespace icl {

struct Study {
  StudyConfig config;
  std::vector<GridPoint> points;
  std::vector<TrainingSetting> settings;
};

/// Parses every axis once; decides each point's sampler (throws ConfigError naming the point
/// when `sampler = "sufficient"` is asked for a point it cannot serve: a nonlinear task, knn3,
/// ...) and refuses points whose working memory cannot fit.
Study expand_study(StudyConfig config);

/// The options that train `setting`: its variant of [training] (the one-layer model) or of
/// [models] (deep models).
const TrainingConfig& training_of(const StudyConfig& config, const TrainingSetting& setting);
const DeepTrainingOptions& models_of(const StudyConfig& config, const TrainingSetting& setting);

/// True when the study's predictors include the trained model `lsa` (otherwise nothing is
/// trained).
bool needs_trained_models(const StudyConfig& config);

/// The cost model's estimate for one point (seconds on one core).
double point_cost(const Study& study, const GridPoint& point);

/// The evaluation of `points` (indices into study.points) cut into work units and split over
/// `ranks` by the cost model; each unit's item is a point index.
UnitPlan plan_work(const Study& study, const std::vector<std::size_t>& points, int ranks);

/// Every model in `result` that belongs to one of the study's training settings has the shape and
/// kind the setting's model needs and finite entries; ConfigError naming `source` and the model
/// otherwise. (A file given to --resume is read, not trusted.)
void check_models(const ResultData& result, const Study& study, const std::string& source);

/// A result file for the study with every point pending and the given models.
ResultData empty_result(const Study& study, std::vector<ModelRecord> models);

/// The closed-form risks (/theory) and their kind (/points/theory_source) of every point; NaN
/// where a predictor has none. Every command that writes a new result file calls it.
void fill_theory(const Study& study, ResultData& result);

}  // namespace icl
