#pragma once
/// Training one setting of a study (core/grid_point.hpp) by the configured method, and the
/// parameters of a model record for evaluation: the training driver, above the trainers of this
/// folder (flow.hpp, stochastic.hpp, deep_training.hpp).
#include "core/deep_lsa.hpp"
#include "core/grid_point.hpp"
#include "core/lsa.hpp"
#include "core/model_record.hpp"
#include "core/softmax_attention.hpp"
#include "training/deep_training.hpp"
#include "training/flow.hpp"
#include "training/stochastic.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace icl {

/// `[training] method`: how ZFB's one-layer model is trained.
enum class TrainingMethod { flow, sgd, adam, closed_form };
const char* to_string(TrainingMethod method);

struct TrainingConfig {
  TrainingMethod method = TrainingMethod::flow;
  FlowOptions flow;
  StochasticOptions stochastic;
};

/// True when the one-layer model is trained on the configured task (SGD and Adam); gradient flow
/// and the closed form train on linear tasks (ZFB's setting; a nonlinear task then changes only
/// the test). Deeper models always train on the configured task.
bool trains_on_configured_task(TrainingMethod method);

/// Train one setting: the one-layer model by `training` (closed form: Theorem 4.1's weights, or
/// the V_rdm equivalent for random-exp), deeper models by Adam with `models`. Streams are keyed by
/// `seed` and the setting's random address. The record carries the hyperparameters as attributes
/// and the validation loss on `validation_prompts` held-out prompts. Throws NumericalError on
/// divergence, Interrupted on a stop.
ModelRecord train_setting(const TrainingSetting& setting, const TrainingConfig& training,
                          const DeepTrainingOptions& models, std::uint64_t seed,
                          std::uint32_t validation_prompts);

/// The record of a model not yet trained: the setting's axes, the method ("adam" for the deep
/// models, with their depth and heads), no weights.
ModelRecord untrained_record(const TrainingSetting& setting, const TrainingConfig& training);

/// The record's hyperparameters as attributes (training label, optimiser, schedule, init,
/// replicate, learning_rate, ...), so that a model read alone says how it was trained.
void describe_hyperparameters(ModelRecord& model, const TrainingSetting& setting,
                              const TrainingConfig& training, const DeepTrainingOptions& models);

/// What train_setting adds to a trained model's record: the hyperparameters as attributes and
/// the validation loss on `validation_prompts` held-out prompts.
void describe_training(ModelRecord& model, const TrainingSetting& setting,
                       const TrainingConfig& training, const DeepTrainingOptions& models,
                       std::uint64_t seed, std::uint32_t validation_prompts);

/// The hyperparameters that train a setting's model, as the /points columns show them: NaN, 0 or
/// "" where one does not apply (a learning rate for gradient flow).
struct TrainingColumns {
  std::string optimiser;  ///< "flow", "closed-form", "sgd" or "adam"
  double learning_rate = NAN, warmup_fraction = NAN, decay_factor = NAN, sigma = NAN;
  std::int64_t batch = 0, steps = 0, decay_every = 0;
  std::string schedule, init;  ///< "constant" or "step"; "assumption-3.3" or "dense"
};
TrainingColumns training_columns(const TrainingSetting& setting, const TrainingConfig& training,
                                 const DeepTrainingOptions& models);

/// E ½(ŷ − y)² of a trained model on `prompts` prompts of its training law from a stream of its
/// own (never the training's or the test's), and its standard error.
std::pair<double, double> validation_loss(const ModelRecord& model, const TrainingSetting& setting,
                                          std::uint64_t seed, std::uint32_t prompts);

/// The hand-built weights of k = max(L, 1) steps of preconditioned gradient descent for a setting
/// (Ahn et al. 2023): every layer's Γ is η P, with P the one-layer limit's preconditioner
/// (training_preconditioner) and η the pgd-L baseline's step, tuned on the training law at length
/// N (core/baselines.hpp). For ZFB's one layer η = 1: the weights of Theorem 4.1's global minimum,
/// whose loss is L*. lsa-L-gd starts from these; every trained model's loss is reported beside
/// theirs.
struct ReferenceWeights {
  DeepLsaParameters parameters;
  double step = 1.0;
};
ReferenceWeights reference_weights(const TrainingSetting& setting, std::uint64_t seed);

/// The reference weights' loss E ½(ŷ − y)² on the same held-out prompts as validation_loss, its
/// standard error and the step: computed once per (d, N, covariance, task, depth) and seed in a
/// process (it does not depend on the variant or replicate).
struct ReferenceLoss {
  double loss = 0, standard_error = 0, step = 1.0;
};
ReferenceLoss reference_loss(const TrainingSetting& setting, std::uint64_t seed,
                             std::uint32_t prompts);

/// The cost model's estimate of training a setting, in seconds on one core (only proportions
/// matter: it balances training over ranks).
double training_cost(const TrainingSetting& setting, const DeepTrainingOptions& models);

/// A trained model of a setting, ready for evaluation: ZFB's one layer, an lsa-L stack or a
/// softmax-L-H model.
struct SettingModel {
  std::optional<LsaParameters> one_layer;
  std::optional<DeepLsaParameters> deep;
  std::optional<SoftmaxParameters> softmax;
};

/// A model's (W^{PV}, W^{KQ}) pairs into its record: the pairs stacked vertically, as
/// /models/<key>/W_PV and W_KQ hold them (one pair for ZFB's one layer).
template <typename Parameters>
void store_weights(ModelRecord& model, const Parameters& parameters) {
  const auto pairs = weight_pairs(parameters);
  const Eigen::Index size = pairs.front().value_projection.rows();
  const auto count = static_cast<Eigen::Index>(pairs.size());
  model.value_projection.resize(count * size, size);
  model.key_query.resize(count * size, size);
  for (Eigen::Index k = 0; k < count; ++k) {
    model.value_projection.middleRows(k * size, size) = pairs[k].value_projection;
    model.key_query.middleRows(k * size, size) = pairs[k].key_query;
  }
}

/// The parameters stored in a model record (W_PV and W_KQ hold the layers stacked vertically).
SettingModel parameters_of(const ModelRecord& model);

}  // namespace icl
