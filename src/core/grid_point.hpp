#pragma once
/// A grid point and a training setting with every axis parsed once, when the study is expanded:
/// each axis keeps the text it was written with (the result file's columns, the keys of the random
/// streams) beside the object the code computes with.
#include "core/covariance.hpp"
#include "core/deep_lsa.hpp"
#include "core/prompt.hpp"
#include "core/shift.hpp"
#include "core/task.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace icl {

/// What a trained model depends on: one model is trained per setting and shared by every point
/// that names it.
struct TrainingSetting {
  int dim = 0, train_length = 0;
  std::string covariance, task = "linear", model = "lsa";  ///< the axes as written
  std::shared_ptr<const Covariance> inputs;                ///< the training covariance
  Task task_law;                                           ///< the labels' law in training
  ModelSpec model_spec;
  std::size_t variant = 0;    ///< which combination of the swept [training] or [models] values
  std::string variant_label;  ///< "learning_rate=0.003;warmup_fraction=0.2" ("" when not swept)
  int replicate = 0;          ///< independently initialised and sampled copy, 0 to K - 1
  /// "d=5;N=10;covariance=identity;task=linear" (then the variant's label and ";replicate=r" when
  /// r > 0): the /models group, and the point's link to its model (/points/model_key)
  std::string key;
  std::uint64_t random_address = 0;  ///< stable_hash("train|" + key without the variant's label)
};

struct GridPoint {
  int dim = 0, train_length = 0, test_length = 0;                 ///< d, N, M
  std::string shift, covariance, task = "linear", model = "lsa";  ///< the axes as written
  std::shared_ptr<const Covariance> inputs;  ///< the training covariance (shared, can be d x d)
  Shift shift_law;
  Task task_law;
  ModelSpec model_spec;
  std::size_t setting = 0;           ///< index into the study's training settings
  std::uint64_t random_address = 0;  ///< stable_hash of the point's canonical text
  bool sufficient = false;  ///< evaluated by the sufficient-statistic sampler (src/evaluation)
  /// Which of the study's predictors are evaluated here (a [grid] block's `predictors`); empty:
  /// all of them.
  std::vector<bool> evaluated;

  /// Whether the study's predictor number `index` is evaluated at this point.
  bool evaluates(std::size_t index) const { return evaluated.empty() || evaluated.at(index); }

  /// The law of the point's test prompts: the training covariance changed by the shift, labels by
  /// the task. `seed` (the study's) fixes the rotations of skewed and half-subspace.
  PromptLaw test_law(std::uint64_t seed) const;
  /// Where gd-L and pgd-L draw the prompts of the training law that tune their step (never the
  /// evaluation's): the same for every test point of the point's training setting.
  std::uint64_t tuning_address() const;
  /// The law of the training prompts: the training covariance and the task, unshifted.
  PromptLaw training_law() const;
};

/// Parses every axis; throws ConfigError naming the text that does not parse. `inputs` may be given
/// (a covariance already parsed for the same spec and d) to share it between points.
GridPoint make_grid_point(int dim, int train_length, int test_length, const std::string& shift,
                          const std::string& covariance, const std::string& task,
                          const std::string& model, std::uint64_t seed,
                          std::shared_ptr<const Covariance> inputs = nullptr);

/// "point d=5 N=10 M=20 shift=none covariance=identity task=linear" (and the model when it is not
/// ZFB's one layer): how errors and messages name a point.
std::string describe(const GridPoint& point);

}  // namespace icl
