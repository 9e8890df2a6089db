#include "evaluation/monte_carlo.hpp"

#include "core/errors.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>

namespace icl {

std::vector<RunningStatistics> estimate_risks(const PromptSampler& sampler,
                                              std::span<const Predictor* const> predictors,
                                              const MonteCarloSpec& spec) {
  if (spec.block == 0) throw ConfigError("Monte Carlo block size must be positive");
  const std::size_t predictor_count = predictors.size();
  const std::int64_t blocks =
      (static_cast<std::int64_t>(spec.prompts) + spec.block - 1) / spec.block;
  std::vector<RunningStatistics> per_block(static_cast<std::size_t>(blocks) * predictor_count);
  std::exception_ptr failure;
  std::mutex failure_mutex;

#pragma omp parallel
  {
    Prompt prompt;
    PromptMoments moments;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t block = 0; block < blocks; ++block) {
      try {
        const std::uint32_t first =
            spec.first_prompt + static_cast<std::uint32_t>(block) * spec.block;
        const std::uint32_t last =
            std::min<std::uint32_t>(first + spec.block, spec.first_prompt + spec.prompts);
        RunningStatistics* statistics =
            &per_block[static_cast<std::size_t>(block) * predictor_count];
        for (std::uint32_t index = first; index < last; ++index) {
          sampler.sample(spec.seed, spec.point, index, prompt);
          compute_moments(prompt, moments);
          for (std::size_t p = 0; p < predictor_count; ++p) {
            const double error = predictors[p]->predict(prompt, moments) - prompt.query_label;
            statistics[p].add(error * error);
          }
        }
      } catch (...) {
        // No exception may leave an OpenMP region: keep the first and rethrow after it.
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);

  std::vector<RunningStatistics> totals(predictor_count);
  for (std::int64_t block = 0; block < blocks; ++block)
    for (std::size_t p = 0; p < predictor_count; ++p)
      totals[p].merge(per_block[static_cast<std::size_t>(block) * predictor_count + p]);
  return totals;
}

std::optional<std::vector<RunningStatistics>> estimate_point(
    const PromptSampler& sampler, std::span<const Predictor* const> predictors, std::uint64_t seed,
    std::uint64_t point, std::uint32_t prompts, const std::function<bool()>& interrupted) {
  std::vector<RunningStatistics> totals(predictors.size());
  for (std::uint32_t first = 0; first < prompts; first += prompts_per_chunk) {
    if (interrupted && interrupted()) return std::nullopt;
    const std::uint32_t count = std::min(prompts_per_chunk, prompts - first);
    const auto chunk = estimate_risks(sampler, predictors, {seed, point, count, 256, first});
    for (std::size_t p = 0; p < totals.size(); ++p) totals[p].merge(chunk[p]);
  }
  return totals;
}

double estimated_point_seconds(int dim, int test_length, std::span<const std::string> predictors,
                               std::uint32_t prompts) {
  // Per prompt: d(M + 2) normals and the products that form y and h, then each predictor. The
  // coefficients are a least-squares fit to the measured per-point times of jobs/configs/paper.toml
  // on this project's 2-core machines (correlation 0.998 between predicted and measured times;
  // tests/bench/cost_model.py re-measures it from any result file).
  const double d = dim, m = test_length;
  double per_prompt = 1.65e-6 + 1.43e-8 * d * (m + 2);
  for (const auto& name : predictors) {
    if (name == "ols")
      per_prompt += 7.8e-11 * m * d * std::min(m, d) + 2.0e-7;
    else if (name == "ridge")
      per_prompt += 1.0e-9 * (m * d * d + d * d * d) + 5.0e-7;
    else if (name == "knn3")
      per_prompt += 2.1e-8 * m * d;
    else if (name == "lsa")
      per_prompt += 2.0e-9 * (m * d + d * d);
    else if (name == "lsa-theory" || name == "best-lsa")
      per_prompt += 3.0e-9 * d * d;
    else
      per_prompt += 1.0e-9 * d;
  }
  return per_prompt * prompts;
}

}  // namespace icl
