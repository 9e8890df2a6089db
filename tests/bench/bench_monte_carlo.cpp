/// Monte Carlo kernels against the random-number roofline (README "Performance").
///
///   build/bench/bench_monte_carlo
///
/// Each benchmark times, in the same loop, the generator alone (normals per second on one core)
/// and the estimator on one thread, so the printed fraction is a ratio of two rates measured side
/// by side: fraction = (prompts/s) x (normals per prompt) / (normals/s), the share of the
/// generator's limit the whole estimator reaches. The cell is lsa-theory + gd1 + zero at d = 20,
/// N = 40, covariance power:1 (anisotropic, diagonal), M = 40 and M = 640.
#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace icl;
using Clock = std::chrono::steady_clock;

constexpr int dim = 20, train_length = 40;

struct Cell {
  Covariance covariance = Covariance::parse("power:1", dim, 1);
  PointModel model;
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> predictors;
  std::vector<LinearForm> forms;
  explicit Cell(int length) : model(covariance, train_length, covariance, length, 0.0) {
    for (const char* name : {"lsa-theory", "gd1", "zero"}) {
      owned.push_back(model.make(name));
      predictors.push_back(owned.back().get());
      forms.push_back(*owned.back()->linear_form());
    }
  }
};

/// Seconds to draw `count` normals from fresh streams, as the sampler does: one stream per prompt
/// and stream, filled in bulk.
double time_normals(std::uint64_t count, std::uint32_t salt, int per_stream) {
  std::vector<double> values(static_cast<std::size_t>(per_stream));
  const auto start = Clock::now();
  double sink = 0;
  for (std::uint64_t done = 0, prompt = 0; done < count; done += per_stream, ++prompt) {
    RandomStream random(1, {salt, static_cast<std::uint32_t>(prompt), Stream::inputs});
    random.fill_normals(values.data(), values.size());
    sink += values[prompt % values.size()];
  }
  benchmark::DoNotOptimize(sink);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void roofline(benchmark::State& state, bool sufficient) {
  omp_set_num_threads(1);
  const int length = static_cast<int>(state.range(0));
  const Cell cell(length);
  const std::uint32_t prompts = length >= 640 ? 256 : 2048;
  // Normals per prompt of the plain sampler: inputs d·M, query d, task d.
  const double normals_per_prompt = dim * (length + 2.0);
  double normal_seconds = 0, estimator_seconds = 0;
  std::uint64_t normals = 0, evaluated = 0;
  std::uint32_t round = 0;
  for (auto _ : state) {
    const auto count = static_cast<std::uint64_t>(normals_per_prompt * prompts);
    normal_seconds += time_normals(count, round, dim * length);
    normals += count;
    const MonteCarloSpec spec{1, stable_hash("bench"), prompts, 256, round * prompts};
    const auto start = Clock::now();
    if (sufficient) {
      const SufficientSampler sampler(PromptLaw(cell.covariance), length);
      benchmark::DoNotOptimize(estimate_conditional_risks(sampler, cell.forms, spec));
    } else {
      const PromptSampler sampler(PromptLaw(cell.covariance), length);
      benchmark::DoNotOptimize(estimate_risks(sampler, cell.predictors, spec));
    }
    estimator_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    evaluated += prompts;
    ++round;
  }
  const double normal_rate = normals / normal_seconds;
  const double prompt_rate = evaluated / estimator_seconds;
  state.counters["normals_per_s"] = normal_rate;
  state.counters["prompts_per_s"] = prompt_rate;
  state.counters["us_per_prompt"] = 1e6 / prompt_rate;
  // For the plain sampler: the share of the generator's limit. For the sufficient sampler: how
  // many times the limit of a plain sampler it goes (it draws far fewer normals).
  state.counters[sufficient ? "x_plain_roofline" : "roofline_fraction"] =
      prompt_rate * normals_per_prompt / normal_rate;
}

void BM_plain_sampler(benchmark::State& state) {
  roofline(state, false);
}
void BM_sufficient_sampler(benchmark::State& state) {
  roofline(state, true);
}

}  // namespace

BENCHMARK(BM_plain_sampler)->Arg(40)->Arg(640)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_sufficient_sampler)->Arg(40)->Arg(640)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_MAIN();
