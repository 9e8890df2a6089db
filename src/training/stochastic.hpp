#pragma once
/// Stochastic training of all 2(d+1)² parameters of the one-layer LSA on freshly sampled prompts of
/// length N: minibatch SGD or Adam, with the analytic gradient of the empirical loss
/// L̂ = (1/2B) Σ_τ (ŷ_τ − y_τ)² through the full forward pass.
#include "core/covariance.hpp"
#include "core/lsa.hpp"
#include "core/prompt.hpp"
#include "training/minibatch.hpp"

#include <cstdint>
#include <vector>

namespace icl {

enum class Initialisation { assumption33, dense };

/// `[training]` with method sgd or adam.
struct StochasticOptions : MinibatchOptions {
  Initialisation init = Initialisation::assumption33;
  std::uint32_t record_every = 0;  ///< 0: about 500 records over the run
  /// Draw training prompts through their sufficient statistics (training/compressed_prompts.hpp)
  /// where the law allows it: the same law of the trained model at a fraction of the cost.
  bool compressed_prompts = true;
  StochasticOptions() {
    sigma = 0.1;
    steps = 10000;
  }
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

/// The same with the gradient normalised by `length` rather than prompt.length(): the prompt's
/// columns then stand for `length` columns with the same Σ e eᵀ (training/compressed_prompts.hpp).
double accumulate_columns_gradient(const Prompt& prompt, double length,
                                   const LsaParameters& parameters, LsaParameters& gradient);

/// Train by training/minibatch.hpp's trainer, on compressed prompts where the law allows it
/// (options.compressed_prompts). Throws NumericalError on divergence.
StochasticResult train_stochastic(const Covariance& covariance, int train_length,
                                  const StochasticOptions& options, std::uint64_t seed,
                                  std::uint64_t setting, const Task& task = Task());

/// Successive halving trains in pieces: the state before the first step, and a continuation to
/// step `until`, appending to `curve`. start + advance to options.steps is train_stochastic bit
/// for bit.
MinibatchState<LsaParameters> start_stochastic(int dim, const StochasticOptions& options,
                                               std::uint64_t seed, std::uint64_t setting);
void advance_stochastic(MinibatchState<LsaParameters>& state, std::uint32_t until,
                        const Covariance& covariance, int train_length,
                        const StochasticOptions& options, std::uint64_t seed, std::uint64_t setting,
                        const Task& task, std::vector<StochasticRecord>& curve);

}  // namespace icl
