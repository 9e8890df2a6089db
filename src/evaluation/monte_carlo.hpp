#pragma once
/// Monte Carlo risk of several predictors at one grid point, on common random numbers: every
/// predictor sees the same prompts. Prompts are cut into fixed blocks; blocks run on OpenMP threads
/// and their statistics merge in block order, so the result does not depend on the thread count.
#include "core/predictors.hpp"
#include "core/prompt.hpp"
#include "evaluation/statistics.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace icl {

struct MonteCarloSpec {
  std::uint64_t seed = 1;      ///< master seed
  std::uint64_t point = 0;     ///< stable_hash of the grid point: addresses its random numbers
  std::uint32_t prompts = 0;   ///< number of test prompts
  std::uint32_t block = 256;   ///< prompts per block (part of the result's definition: keep fixed)
};

/// Statistics of the squared error (ŷ − y_q)², one entry per predictor, in the given order.
std::vector<RunningStatistics> estimate_risks(const PromptSampler& sampler,
                                              std::span<const Predictor* const> predictors,
                                              const MonteCarloSpec& spec);

}  // namespace icl
