#pragma once
/// Training of the deeper attention models (issue 11) by Adam on freshly sampled prompts of length
/// N, with the hand-written backward pass of core/deep_lsa.hpp. The minibatch gradient is summed
/// over fixed chunks on OpenMP threads and added in chunk order, so the result does not depend on
/// the thread count.
#include "core/deep_lsa.hpp"
#include "core/prompt.hpp"
#include "core/softmax_attention.hpp"

#include <cstdint>
#include <vector>

namespace icl {

struct DeepTrainingOptions {
  std::uint32_t steps = 4000;
  std::uint32_t batch = 256;
  double learning_rate = 1e-3;
  double sigma = 0.05;            ///< initial entries iid N(0, σ²)
  std::uint32_t decay_every = 0;  ///< multiply the rate by decay_factor every this many steps
  /// The rate rises linearly over the first warmup_fraction of the steps: deeper models are
  /// polynomials of degree 2L + 1 in the inputs, and full-size early steps make them diverge.
  double warmup_fraction = 0.1;
  double decay_factor = 0.5;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double divergence_factor = 1e6;  ///< a minibatch loss above this times the first one diverged
};

template <typename Parameters>
struct TrainingResult {
  Parameters parameters;
  std::vector<double> steps, losses;  ///< the loss curve: mean minibatch loss since the last record
};
using DeepTrainingResult = TrainingResult<DeepLsaParameters>;
using SoftmaxTrainingResult = TrainingResult<SoftmaxParameters>;

/// Train an lsa-`depth` model on prompts of `law` with `train_length` examples, addressed by
/// (seed, setting, sample index = step · batch + i). Throws NumericalError on divergence.
DeepTrainingResult train_deep_lsa(const PromptLaw& law, int train_length, int depth,
                                  const DeepTrainingOptions& options, std::uint64_t seed,
                                  std::uint64_t setting);

/// The same for a softmax-`depth`-`heads` model.
SoftmaxTrainingResult train_softmax_attention(const PromptLaw& law, int train_length, int depth,
                                              int heads, const DeepTrainingOptions& options,
                                              std::uint64_t seed, std::uint64_t setting);

}  // namespace icl
