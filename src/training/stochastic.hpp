#pragma once
/// Stochastic training of all 2(d+1)² parameters of the one-layer LSA on freshly sampled prompts of
/// length N: minibatch SGD or Adam, with the analytic gradient of the empirical loss
/// L̂ = (1/2B) Σ_τ (ŷ_τ − y_τ)² through the full forward pass.
#include "core/covariance.hpp"
#include "core/lsa.hpp"
#include "core/prompt.hpp"

#include <cstdint>
#include <vector>

namespace icl {

enum class Optimiser { sgd, adam };
enum class Initialisation { assumption33, dense };

struct StochasticOptions {
  Optimiser optimiser = Optimiser::adam;
  Initialisation init = Initialisation::assumption33;
  double sigma = 0.1;
  std::uint32_t steps = 10000;
  std::uint32_t batch = 256;
  double learning_rate = 1e-3;
  std::uint32_t decay_every =
      0;  ///< step decay: multiply the rate by decay_factor every this many steps (0: constant)
  double decay_factor = 0.5;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double divergence_factor =
      1e6;  ///< a minibatch loss above this times the initial one is divergence
  std::uint32_t record_every = 0;  ///< 0: about 500 records over the run
};

struct StochasticRecord {
  std::uint32_t step;
  double loss;      ///< mean minibatch loss L̂ over the steps since the last record
  double distance;  ///< ‖uU + pqᵀ − V_*‖_F / ‖V_*‖_F
  double p_norm;    ///< ‖w^{PV}_21‖
  double q_norm;    ///< ‖w^{KQ}_21‖
};

struct StochasticResult {
  LsaParameters parameters;
  std::vector<StochasticRecord> curve;
};

/// ŷ, L̂ and ∇L̂ for one prompt: accumulates (ŷ − y) ∂ŷ/∂θ into the gradient and returns ½(ŷ − y)².
/// ŷ = rᵀ G W^{KQ} z with G = E Eᵀ / n, r the last row of W^{PV}, z = (x_q, 0).
double accumulate_prompt_gradient(const Prompt& prompt, const LsaParameters& parameters,
                                  LsaParameters& gradient);

/// Train on prompts addressed by (seed, setting, sample index = step · batch + i). The minibatch
/// gradient is summed over fixed chunks on OpenMP threads and the chunks are added in order, so the
/// result is the same for any thread count. Throws NumericalError on divergence.
StochasticResult train_stochastic(const Covariance& covariance, int train_length,
                                  const StochasticOptions& options, std::uint64_t seed,
                                  std::uint64_t setting, const Task& task = Task());

}  // namespace icl
