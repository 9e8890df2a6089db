// Training benchmarks (issue 3): gradient-flow time to 1e-8 at d = 20, 50, 100, and stochastic
// training steps per second at d = 20, N = 40, batch 1024 on 1 and 2 threads. Google Benchmark
// prints both thread counts side by side in one run; the ratio of their rates is the parallel
// efficiency (printed as a counter).
#include "core/covariance.hpp"
#include "training/flow.hpp"
#include "training/stochastic.hpp"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <map>

using namespace icl;

static void flow_to_1e8(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const auto covariance = Covariance::parse("power:1", dim, 1);
  double distance = 0;
  std::size_t steps = 0;
  for (auto _ : state) {
    const auto result = train_gradient_flow(covariance, 2 * dim, FlowOptions{}, 1, 2);
    distance = result.trajectory.back().distance;
    steps = result.steps;
  }
  state.counters["final_distance"] = distance;
  state.counters["integrator_steps"] = static_cast<double>(steps);
}
BENCHMARK(flow_to_1e8)->Arg(20)->Arg(50)->Arg(100)->Unit(benchmark::kMillisecond);

static std::map<int, double> step_rates;

static void sgd_steps(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  const auto covariance = Covariance::parse("identity", 20, 1);
  StochasticOptions options;
  options.optimiser = Optimiser::sgd;
  options.steps = 20;
  options.batch = 1024;
  options.learning_rate = 1e-3;
  for (auto _ : state) benchmark::DoNotOptimize(train_stochastic(covariance, 40, options, 1, 2));
  state.counters["steps_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * options.steps), benchmark::Counter::kIsRate);
}
BENCHMARK(sgd_steps)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
