#pragma once
/// Training of the deeper attention models (issue 11) by Adam on freshly sampled prompts of length
/// N, with the hand-written backward passes of core/deep_lsa.hpp and core/softmax_attention.hpp,
/// by training/minibatch.hpp's trainer.
#include "core/deep_lsa.hpp"
#include "core/prompt.hpp"
#include "core/softmax_attention.hpp"
#include "training/minibatch.hpp"

#include <cstdint>
#include <vector>

namespace icl {

/// `[models]`: Adam for the deeper models. The rate warms up over the first tenth of the steps:
/// deeper models are polynomials of degree 2L + 1 in the inputs, and full-size early steps make
/// them diverge.
struct DeepTrainingOptions : MinibatchOptions {
  DeepTrainingOptions() { warmup_fraction = 0.1; }
};

template <typename Parameters>
struct TrainingResult {
  Parameters parameters;
  std::vector<double> steps, losses;  ///< the loss curve: mean minibatch loss since the last record
};
using DeepTrainingResult = TrainingResult<DeepLsaParameters>;
using SoftmaxTrainingResult = TrainingResult<SoftmaxParameters>;

/// Train an lsa-`depth` model on prompts of `law` with `train_length` examples, addressed by
/// (seed, setting, sample index = step · batch + i), from random weights (entries N(0, σ²)) or
/// from `initial` when given (lsa-L-gd). Throws NumericalError on divergence.
DeepTrainingResult train_deep_lsa(const PromptLaw& law, int train_length, int depth,
                                  const DeepTrainingOptions& options, std::uint64_t seed,
                                  std::uint64_t setting,
                                  const DeepLsaParameters* initial = nullptr);

/// The same for a softmax-`depth`-`heads` model.
SoftmaxTrainingResult train_softmax_attention(const PromptLaw& law, int train_length, int depth,
                                              int heads, const DeepTrainingOptions& options,
                                              std::uint64_t seed, std::uint64_t setting);

/// Successive halving trains in pieces: the state before the first step, and a continuation to
/// step `until` of the run `options` describes, appending to the loss curve (steps, losses).
/// start + advance to options.steps is train_deep_lsa (train_softmax_attention) bit for bit.
MinibatchState<DeepLsaParameters> start_deep_lsa(int dim, int depth,
                                                 const DeepTrainingOptions& options,
                                                 std::uint64_t seed, std::uint64_t setting,
                                                 const DeepLsaParameters* initial = nullptr);
MinibatchState<SoftmaxParameters> start_softmax_attention(int dim, int depth, int heads,
                                                          const DeepTrainingOptions& options,
                                                          std::uint64_t seed,
                                                          std::uint64_t setting);
/// Defined for DeepLsaParameters and SoftmaxParameters.
template <typename Parameters>
void advance_deep_model(MinibatchState<Parameters>& state, std::uint32_t until,
                        const PromptLaw& law, int train_length, const DeepTrainingOptions& options,
                        std::uint64_t seed, std::uint64_t setting, std::vector<double>& steps,
                        std::vector<double>& losses);

}  // namespace icl
