#include "evaluation/monte_carlo.hpp"

#include "core/errors.hpp"

#include <algorithm>
#include <exception>
#include <mutex>

namespace icl {

std::vector<RunningStatistics> estimate_risks(const PromptSampler& sampler,
                                              std::span<const Predictor* const> predictors,
                                              const MonteCarloSpec& spec) {
  if (spec.block == 0) throw ConfigError("Monte Carlo block size must be positive");
  const std::size_t predictor_count = predictors.size();
  const std::int64_t blocks = (static_cast<std::int64_t>(spec.prompts) + spec.block - 1) / spec.block;
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
        const std::uint32_t first = static_cast<std::uint32_t>(block) * spec.block;
        const std::uint32_t last = std::min<std::uint32_t>(first + spec.block, spec.prompts);
        RunningStatistics* statistics = &per_block[static_cast<std::size_t>(block) * predictor_count];
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

}  // namespace icl
