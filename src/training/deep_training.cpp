#include "training/deep_training.hpp"

#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"

#include <string>

#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>

namespace icl {
namespace {

double loss_gradient(const Prompt& prompt, const DeepLsaParameters& parameters,
                     DeepLsaParameters& gradient) {
  return deep_lsa_loss_gradient(embed(prompt), prompt.query_label, parameters, gradient);
}

double loss_gradient(const Prompt& prompt, const SoftmaxParameters& parameters,
                     SoftmaxParameters& gradient) {
  return softmax_attention_loss_gradient(embed(prompt), prompt.query_label, parameters, gradient);
}

template <typename Parameters>
TrainingResult<Parameters> train_stack(const PromptLaw& law, int train_length,
                                       Parameters parameters, const std::string& name,
                                       const DeepTrainingOptions& options, std::uint64_t seed,
                                       std::uint64_t setting) {
  // Initial entries iid N(0, σ²), layer by layer, W^{PV} before W^{KQ}.
  RandomStream random(seed, {setting, 1, Stream::parameters});
  for (auto& layer : weight_pairs(parameters)) {
    random.fill_normal(layer.value_projection);
    random.fill_normal(layer.key_query);
    layer.value_projection *= options.sigma;
    layer.key_query *= options.sigma;
  }
  MinibatchRun run;
  run.chunk_size = 16;
  run.record_every = std::max<std::uint32_t>(1, options.steps / 200);
  run.section = "[models]";
  run.model = name;
  TrainingResult<Parameters> result;
  result.parameters = train_minibatch(
      std::move(parameters), PromptSampler(law, train_length), seed, setting, options, run,
      [](const Prompt& prompt, const Parameters& current, Parameters& gradient) {
        return loss_gradient(prompt, current, gradient);
      },
      [&](std::uint32_t step, double loss, const Parameters&) {
        result.steps.push_back(step);
        result.losses.push_back(loss);
      });
  return result;
}

}  // namespace

DeepTrainingResult train_deep_lsa(const PromptLaw& law, int train_length, int depth,
                                  const DeepTrainingOptions& options, std::uint64_t seed,
                                  std::uint64_t setting) {
  if (depth < 1) throw ConfigError("deep model depth must be at least 1");
  return train_stack(law, train_length, DeepLsaParameters::zero(law.dim(), depth),
                     "lsa-" + std::to_string(depth), options, seed, setting);
}

SoftmaxTrainingResult train_softmax_attention(const PromptLaw& law, int train_length, int depth,
                                              int heads, const DeepTrainingOptions& options,
                                              std::uint64_t seed, std::uint64_t setting) {
  return train_stack(law, train_length, SoftmaxParameters::zero(law.dim(), depth, heads),
                     "softmax-" + std::to_string(depth) + "-" + std::to_string(heads), options,
                     seed, setting);
}

}  // namespace icl
