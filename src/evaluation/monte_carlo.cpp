#include "evaluation/monte_carlo.hpp"

#include "core/errors.hpp"
#include "training/parallel_for.hpp"

#include <algorithm>
#include <cmath>

namespace icl {

namespace {

/// The block skeleton every estimator shares: blocks of `spec.block` prompts on OpenMP threads;
/// `evaluate_prompt(index, workspace, errors)` writes one value per predictor; block statistics
/// merge in block order.
template <typename Workspace, typename EvaluatePrompt>
std::vector<RunningStatistics> run_blocks(const MonteCarloSpec& spec, std::size_t predictor_count,
                                          const EvaluatePrompt& evaluate_prompt) {
  if (spec.block == 0) throw ConfigError("Monte Carlo block size must be positive");
  const std::int64_t blocks =
      (static_cast<std::int64_t>(spec.prompts) + spec.block - 1) / spec.block;
  std::vector<RunningStatistics> per_block(static_cast<std::size_t>(blocks) * predictor_count);
  // Blocks cost alike only on average (rejection steps, shifts): handed out one at a time.
  struct BlockWorkspace {
    Workspace workspace;
    std::vector<double> values;  ///< one per predictor
  };
  parallel_for<BlockWorkspace>(
      blocks, LoopSchedule::one_at_a_time, [&](std::int64_t block, BlockWorkspace& work) {
        const std::uint32_t first =
            spec.first_prompt + static_cast<std::uint32_t>(block) * spec.block;
        const std::uint32_t last =
            std::min<std::uint32_t>(first + spec.block, spec.first_prompt + spec.prompts);
        work.values.resize(predictor_count);
        RunningStatistics* statistics =
            &per_block[static_cast<std::size_t>(block) * predictor_count];
        for (std::uint32_t index = first; index < last; ++index) {
          evaluate_prompt(index, work.workspace, work.values.data());
          for (std::size_t p = 0; p < predictor_count; ++p) statistics[p].add(work.values[p]);
        }
      });

  std::vector<RunningStatistics> totals(predictor_count);
  for (std::int64_t block = 0; block < blocks; ++block)
    for (std::size_t p = 0; p < predictor_count; ++p)
      totals[p].merge(per_block[static_cast<std::size_t>(block) * predictor_count + p]);
  return totals;
}

struct PlainWorkspace {
  Prompt prompt;
  PromptMoments moments;
};

}  // namespace

std::vector<RunningStatistics> estimate_risks(const PromptSampler& sampler,
                                              std::span<const Predictor* const> predictors,
                                              const MonteCarloSpec& spec) {
  return run_blocks<PlainWorkspace>(
      spec, predictors.size(), [&](std::uint32_t index, PlainWorkspace& work, double* errors) {
        sampler.sample(spec.seed, spec.point, index, work.prompt);
        compute_moments(work.prompt, work.moments);
        for (std::size_t p = 0; p < predictors.size(); ++p) {
          const double error =
              predictors[p]->predict(work.prompt, work.moments) - work.prompt.query_label;
          errors[p] = error * error;
        }
      });
}

std::vector<RunningStatistics> estimate_conditional_risks(const SufficientSampler& sampler,
                                                          std::span<const LinearForm> predictors,
                                                          const MonteCarloSpec& spec) {
  return run_blocks<SufficientDraw>(spec, predictors.size(),
                                    [&](std::uint32_t index, SufficientDraw& draw, double* risks) {
                                      sampler.sample(spec.seed, spec.point, index, draw);
                                      for (std::size_t p = 0; p < predictors.size(); ++p)
                                        risks[p] = sampler.conditional_risk(predictors[p], draw);
                                    });
}

std::uint32_t chunk_count(std::uint32_t prompts) {
  return (prompts + prompts_per_chunk - 1) / prompts_per_chunk;
}

std::optional<ChunkStatistics> estimate_chunks(const PointEstimator& estimator, std::uint64_t seed,
                                               std::uint64_t point, std::uint32_t prompts,
                                               std::uint32_t first_chunk, std::uint32_t chunks,
                                               const std::function<bool()>& interrupted) {
  if (first_chunk + chunks > chunk_count(prompts))
    throw ConfigError("estimate_chunks: chunks beyond the point's prompts");
  ChunkStatistics statistics;
  for (std::uint32_t chunk = first_chunk; chunk < first_chunk + chunks; ++chunk) {
    if (interrupted && interrupted()) return std::nullopt;
    const std::uint32_t first = chunk * prompts_per_chunk;
    const std::uint32_t count = std::min(prompts_per_chunk, prompts - first);
    statistics.push_back(estimator({seed, point, count, 256, first}));
  }
  return statistics;
}

std::vector<RunningStatistics> fold_chunks(const ChunkStatistics& chunks,
                                           std::size_t predictor_count) {
  std::vector<RunningStatistics> totals(predictor_count);
  for (const auto& chunk : chunks)
    for (std::size_t p = 0; p < predictor_count; ++p) totals[p].merge(chunk[p]);
  return totals;
}

double estimated_point_seconds(int dim, int test_length, std::span<const std::string> predictors,
                               std::uint32_t prompts, bool sufficient, int depth) {
  // The vector generator (normals 3.7x faster) made both samplers cheaper about evenly across the
  // terms below: on jobs/configs/paper.toml at 10^4 prompts (tests/bench/cost_model.py) these
  // formulas over-predicted by a median 2.24 (plain, 476 points) and 1.84 (sufficient, 72 points).
  // A term-by-term refit is degenerate on that grid (it cannot tell knn3's and lsa's terms from
  // the normals), so each formula is scaled by its measured median; the deep models' reference
  // forward passes did not change speed and are not scaled.
  constexpr double plain_scale = 1.0 / 2.24, sufficient_scale = 1.0 / 1.84;
  if (sufficient) {
    // Per prompt: Bartlett's d(d−1)/2 normals and d gammas (d·M normals when M < d), S = X̃X̃ᵀ,
    // then O(d) for a diagonal V, about d³ flops for a dense one, an eigendecomposition for ols
    // when S is singular. Measured at d = 20, M = 40: 5.2 µs per prompt with lsa-theory, gd1, zero
    // on a diagonal covariance (tests/bench/bench_monte_carlo).
    const double d = dim, m = test_length, k = std::min(d, m);
    double per_prompt = 0.5e-6 + 8.0e-9 * d * k + 0.3e-9 * d * d * k;
    for (const auto& name : predictors) {
      if (name == "ols" && m < d)
        per_prompt += 2.0e-8 * d * d * d;
      else if (name == "zero" || name == "gd1" || name == "gd1-opt")
        per_prompt += 2.0e-9 * d;
      else
        per_prompt += 0.5e-9 * d * d * d;
    }
    return sufficient_scale * per_prompt * prompts;
  }
  // Per prompt: d(M + 2) normals and the products that form y and h, then each predictor. The
  // coefficients are a least-squares fit to the measured per-point times of jobs/configs/paper.toml
  // on this project's 2-core machines (correlation 0.998 between predicted and measured times;
  // tests/bench/cost_model.py re-measures it from any result file).
  const double d = dim, m = test_length;
  double per_prompt = 1.65e-6 + 1.43e-8 * d * (m + 2), deep_per_prompt = 0;
  for (const auto& name : predictors) {
    if (name == "ols")
      per_prompt += 7.8e-11 * m * d * std::min(m, d) + 2.0e-7;
    else if (name == "ridge")
      per_prompt += 1.0e-9 * (m * d * d + d * d * d) + 5.0e-7;
    else if (name == "knn3")
      per_prompt += 2.1e-8 * m * d;
    else if (name == "lsa" && depth > 0)
      deep_per_prompt += 6.0e-9 * depth * (d + 1) * (d + 1) * (m + 1);  // forward pass, L layers
    else if (name == "lsa")
      per_prompt += 2.0e-9 * (m * d + d * d);
    else if (name == "gd-L" || name == "pgd-L")
      per_prompt += 2.0e-9 * std::max(depth, 1) * (2.0 * m * d + d * d);
    else if (name == "lsa-theory" || name == "best-lsa")
      per_prompt += 3.0e-9 * d * d;
    else
      per_prompt += 1.0e-9 * d;
  }
  // gd-L and pgd-L tune their step once per point: S of 1000 prompts, then about 71 risks.
  double tuning = 0;
  for (const auto& name : predictors)
    if (name == "gd-L" || name == "pgd-L")
      tuning += 1.0e-9 * (1000.0 * m * d * d + 71.0 * 1000.0 * std::max(depth, 1) * 2.0 * d * d);
  return (plain_scale * per_prompt + deep_per_prompt) * prompts + tuning;
}

}  // namespace icl
