#pragma once
/// Monte Carlo risk of several predictors at one grid point, on common random numbers: every
/// predictor sees the same prompts. Prompts are cut into fixed blocks; blocks run on OpenMP threads
/// and their statistics merge in block order, so the result does not depend on the thread count.
#include "core/predictors.hpp"
#include "core/prompt.hpp"
#include "evaluation/statistics.hpp"
#include "evaluation/sufficient.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace icl {

struct MonteCarloSpec {
  std::uint64_t seed = 1;     ///< master seed
  std::uint64_t point = 0;    ///< stable_hash of the grid point: addresses its random numbers
  std::uint32_t prompts = 0;  ///< number of test prompts
  std::uint32_t block = 256;  ///< prompts per block (part of the result's definition: keep fixed)
  std::uint32_t first_prompt = 0;  ///< index of the first prompt (a chunk of a longer run)
};

/// Statistics of the squared error (ŷ − y_q)², one entry per predictor, in the given order, over
/// prompts first_prompt ... first_prompt + prompts − 1.
std::vector<RunningStatistics> estimate_risks(const PromptSampler& sampler,
                                              std::span<const Predictor* const> predictors,
                                              const MonteCarloSpec& spec);

/// The same for LinearForm predictors on the sufficient-statistic sampler: the statistics of the
/// conditional risk E[(ŷ − y_q)² | S] per prompt (same mean as the squared error, lower variance).
std::vector<RunningStatistics> estimate_conditional_risks(const SufficientSampler& sampler,
                                                          std::span<const LinearForm> predictors,
                                                          const MonteCarloSpec& spec);

/// The study engine evaluates a point in chunks of this many prompts (the unit between which a rank
/// services messages and signals). Chunk statistics merge in order; with the block size this fixes
/// the result bit for bit, whatever the number of threads or ranks.
inline constexpr std::uint32_t prompts_per_chunk = 8192;

/// One chunk's statistics, from either estimator.
using PointEstimator = std::function<std::vector<RunningStatistics>(const MonteCarloSpec&)>;

/// Number of chunks of a point with `prompts` prompts.
std::uint32_t chunk_count(std::uint32_t prompts);

/// Chunks [first_chunk, first_chunk + chunks) of one point, one statistics vector per chunk;
/// `interrupted()` is asked between chunks (nullopt when it says true).
using ChunkStatistics = std::vector<std::vector<RunningStatistics>>;
std::optional<ChunkStatistics> estimate_chunks(const PointEstimator& estimator, std::uint64_t seed,
                                               std::uint64_t point, std::uint32_t prompts,
                                               std::uint32_t first_chunk, std::uint32_t chunks,
                                               const std::function<bool()>& interrupted);
/// The point's statistics: chunk statistics merged in chunk order from nothing, so that the bits
/// do not depend on how the chunks were split between ranks.
std::vector<RunningStatistics> fold_chunks(const ChunkStatistics& chunks,
                                           std::size_t predictor_count);

/// Estimated seconds for one point on one core (the partition's cost model). Coefficients were
/// measured on the project's 2-core machines (tests/bench/cost_model.sh re-measures them).
double estimated_point_seconds(int dim, int test_length, std::span<const std::string> predictors,
                               std::uint32_t prompts, bool sufficient = false, int depth = 0);

}  // namespace icl
