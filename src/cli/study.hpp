#pragma once
/// A study: the config's grid expanded into points (the Cartesian product, in the order d, N, M,
/// shift, covariance), and the distinct training settings the points share.
#include "cli/config.hpp"
#include "core/deep_lsa.hpp"
#include "core/softmax_attention.hpp"
#include "io/result_file.hpp"

#include <optional>

#include <cstdint>
#include <string>
#include <vector>

namespace icl {

struct TrainingSetting {
  int dim = 0, train_length = 0;
  std::string covariance, task = "linear";
  std::string model = "lsa";  ///< the grid axis `model`
  std::string key;            ///< "d=5;N=10;covariance=identity;task=linear": the /models group
  std::uint64_t random_address = 0;  ///< stable_hash("train|" + key)
};

struct GridPoint {
  int dim = 0, train_length = 0, test_length = 0;
  std::string shift, covariance, task = "linear";
  std::string model = "lsa";         ///< "lsa" or "lsa-L"
  std::size_t setting = 0;           ///< index into Study::settings
  std::uint64_t random_address = 0;  ///< stable_hash of the point's canonical text
  bool sufficient = false;  ///< evaluated by the sufficient-statistic sampler (src/evaluation)
};

struct Study {
  StudyConfig config;
  std::vector<GridPoint> points;
  std::vector<TrainingSetting> settings;
};

/// Also decides each point's sampler; throws ConfigError naming the point when `sampler =
/// "sufficient"` is asked for a point it cannot serve (a nonlinear task, knn3, ...).
Study expand_study(StudyConfig config);

/// Where the point's gd-L and pgd-L draw the prompts that tune their step.
std::uint64_t tuning_address(const GridPoint& point);

/// The cost model's estimate for one point (seconds on one core).
double point_cost(const Study& study, const GridPoint& point);

/// Train one setting with the configured method (closed-form: Theorem 4.1's weights, or the
/// V_rdm equivalent for random-exp). Throws NumericalError on divergence.
ModelRecord train_setting(const TrainingSetting& setting, const StudyConfig& config);

/// A trained model of a setting: ZFB's one layer or an lsa-L stack.
struct SettingModel {
  std::optional<LsaParameters> one_layer;
  std::optional<DeepLsaParameters> deep;
  std::optional<SoftmaxParameters> softmax;
};

/// The parameters stored in a model record (W_PV and W_KQ hold the layers stacked vertically).
SettingModel parameters_of(const ModelRecord& model);

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
