#include "training/deep_training.hpp"

#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"
#include "training/batched_gradients.hpp"

#include <string>

#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>

namespace icl {
namespace {

template <typename Parameters>
MinibatchState<Parameters> start_stack(Parameters parameters, const DeepTrainingOptions& options,
                                       std::uint64_t seed, std::uint64_t setting) {
  // Initial entries iid N(0, σ²), layer by layer, W^{PV} before W^{KQ}.
  RandomStream random(seed, {setting, 1, Stream::parameters});
  for (auto& layer : weight_pairs(parameters)) {
    random.fill_normal(layer.value_projection);
    random.fill_normal(layer.key_query);
    layer.value_projection *= options.sigma;
    layer.key_query *= options.sigma;
  }
  return MinibatchState<Parameters>::start(std::move(parameters));
}

template <typename Parameters>
void advance_stack(MinibatchState<Parameters>& state, std::uint32_t until, const PromptLaw& law,
                   int train_length, const std::string& name, const DeepTrainingOptions& options,
                   std::uint64_t seed, std::uint64_t setting, std::vector<double>& steps,
                   std::vector<double>& losses) {
  MinibatchRun run;
  run.chunk_size = 16;
  run.record_every = std::max<std::uint32_t>(1, options.steps / 200);
  run.section = "[models]";
  run.model = name;
  advance_minibatch(
      state, until, PromptSampler(law, train_length), seed, setting, options, run,
      // Eight prompts at a time on SIMD lanes (training/batched_gradients.hpp): two packs a chunk.
      [](std::span<const Prompt> prompts, const Parameters& current, Parameters& gradient) {
        return batched_loss_gradient(prompts, current, gradient);
      },
      [&](std::uint32_t step, double loss, const Parameters&) {
        steps.push_back(step);
        losses.push_back(loss);
      });
}

std::string stack_name(const DeepLsaParameters& p) {
  return "lsa-" + std::to_string(p.layers.size());
}

std::string stack_name(const SoftmaxParameters& p) {
  return "softmax-" + std::to_string(p.depth()) + "-" + std::to_string(p.heads);
}

/// A whole run from a started state (start_stack, or lsa-L-gd's hand-built weights).
template <typename Parameters>
TrainingResult<Parameters> train_stack(MinibatchState<Parameters> state, const PromptLaw& law,
                                       int train_length, const DeepTrainingOptions& options,
                                       std::uint64_t seed, std::uint64_t setting) {
  TrainingResult<Parameters> result;
  advance_stack(state, options.steps, law, train_length, stack_name(state.parameters), options,
                seed, setting, result.steps, result.losses);
  result.parameters = std::move(state.parameters);
  return result;
}

}  // namespace

DeepTrainingResult train_deep_lsa(const PromptLaw& law, int train_length, int depth,
                                  const DeepTrainingOptions& options, std::uint64_t seed,
                                  std::uint64_t setting, const DeepLsaParameters* initial) {
  return train_stack(start_deep_lsa(law.dim(), depth, options, seed, setting, initial), law,
                     train_length, options, seed, setting);
}

SoftmaxTrainingResult train_softmax_attention(const PromptLaw& law, int train_length, int depth,
                                              int heads, const DeepTrainingOptions& options,
                                              std::uint64_t seed, std::uint64_t setting) {
  return train_stack(start_softmax_attention(law.dim(), depth, heads, options, seed, setting), law,
                     train_length, options, seed, setting);
}

MinibatchState<DeepLsaParameters> start_deep_lsa(int dim, int depth,
                                                 const DeepTrainingOptions& options,
                                                 std::uint64_t seed, std::uint64_t setting,
                                                 const DeepLsaParameters* initial) {
  if (depth < 1) throw ConfigError("deep model depth must be at least 1");
  if (initial) {
    if (initial->depth() != depth || initial->dim() != dim)
      throw ConfigError("initial weights of the wrong shape for lsa-" + std::to_string(depth));
    return MinibatchState<DeepLsaParameters>::start(*initial);
  }
  return start_stack(DeepLsaParameters::zero(dim, depth), options, seed, setting);
}

MinibatchState<SoftmaxParameters> start_softmax_attention(int dim, int depth, int heads,
                                                          const DeepTrainingOptions& options,
                                                          std::uint64_t seed,
                                                          std::uint64_t setting) {
  return start_stack(SoftmaxParameters::zero(dim, depth, heads), options, seed, setting);
}

template <typename Parameters>
void advance_deep_model(MinibatchState<Parameters>& state, std::uint32_t until,
                        const PromptLaw& law, int train_length, const DeepTrainingOptions& options,
                        std::uint64_t seed, std::uint64_t setting, std::vector<double>& steps,
                        std::vector<double>& losses) {
  advance_stack(state, until, law, train_length, stack_name(state.parameters), options, seed,
                setting, steps, losses);
}

template void advance_deep_model(MinibatchState<DeepLsaParameters>&, std::uint32_t,
                                 const PromptLaw&, int, const DeepTrainingOptions&, std::uint64_t,
                                 std::uint64_t, std::vector<double>&, std::vector<double>&);
template void advance_deep_model(MinibatchState<SoftmaxParameters>&, std::uint32_t,
                                 const PromptLaw&, int, const DeepTrainingOptions&, std::uint64_t,
                                 std::uint64_t, std::vector<double>&, std::vector<double>&);

}  // namespace icl
