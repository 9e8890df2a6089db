// Training benchmarks (issue 3): gradient-flow time to 1e-8 at d = 20, 50, 100, and stochastic
// training steps per second at d = 20, N = 40, batch 1024 on 1 and 2 threads. Google Benchmark
// prints both thread counts side by side in one run; the ratio of their rates is the parallel
// efficiency (printed as a counter).
#include "core/covariance.hpp"
#include "training/batched_gradients.hpp"
#include "training/deep_training.hpp"
#include "training/flow.hpp"
#include "training/stochastic.hpp"

#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <iostream>
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

// ---- Training steps per second of every model kind, against the core's floating-point peak ----
// (issue 21.3; tests/bench/torch_compare.py runs these beside PyTorch implementations.)
// d = 20, N = 40, Adam, batch 256, one thread, float64, fresh prompts every step (sampling
// included, as in PyTorch's loop). Flops per prompt are counted from the model's definition
// (README "Performance"): with p = d + 1 rows, n = N keys and m = n + 1 columns,
// one forward pass of a linear layer is Z M Zᵀ (2p²n), W^KQ Z, (Z M Zᵀ)(W^KQ Z) and W^PV (…)
// (2p²m each); a softmax head is W^KQ Z (2p²m), the scores (2pnm), their softmax (about 4nm:
// subtract, exponentiate, sum, divide), the weighted values (2pnm) and W^PV (2p²m); ZFB's one layer
// needs only the query column after Z M Zᵀ (2p²n + 6p²). The backward pass is counted as twice
// the forward, the usual rule for products. These "model flops" are what a plain implementation
// (PyTorch's) performs. The batched stacks (src/training/batched_gradients.cpp) perform fewer:
// `executed_flops` counts their products term by term, and the share of the peak is taken from
// those (with the model's count the last-layer shortcut would read as more than the peak).

namespace {

constexpr int bench_dim = 20, bench_length = 40, bench_batch = 256, bench_steps = 10;

double flops_per_prompt(int kind, int depth, int heads) {
  const double p = bench_dim + 1, n = bench_length, m = n + 1;
  double forward = 0;
  if (kind == 0 || kind == 3) forward = 2 * p * p * n + 6 * p * p;
  if (kind == 1) forward = depth * (2 * p * p * n + 6 * p * p * m);
  if (kind == 2) forward = depth * heads * (4 * p * p * m + 4 * p * n * m + 4 * n * m);
  return 3 * forward;
}

/// Flops the kernels execute: the one-layer gradient applies G to two vectors without forming it,
/// on d stand-in columns and the query (compressed prompts, no label noise here) or on the N + 1
/// columns of a whole prompt (kind 3); the stacks' count is the cost model's
/// (batched_multiply_adds, 2 flops each).
double executed_flops(int kind, int depth, int heads) {
  const double p = bench_dim + 1;
  if (kind == 0 || kind == 3) {
    const double m = (kind == 0 ? bench_dim : bench_length) + 1;
    return 2 * (4 * p * m + 2 * p * p);
  }
  return 2 * batched_multiply_adds(kind == 2, depth, heads, bench_dim, bench_length);
}

/// The core's double-precision peak, measured: twelve independent chains of fused multiply-adds
/// on the widest vectors this CPU has, nothing else in the loop.
constexpr int peak_chains = 12;
constexpr long peak_iterations = 20'000'000;

double peak_rate(double seconds, int lanes) {
  return 2.0 * lanes * peak_chains * static_cast<double>(peak_iterations) / seconds;
}

__attribute__((target("avx512f"))) double avx512_peak() {
  __m512d chain[peak_chains];
  for (auto& c : chain) c = _mm512_set1_pd(1.0);
  const __m512d scale = _mm512_set1_pd(0.9999999), shift = _mm512_set1_pd(1e-9);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < peak_iterations; ++i)
    for (auto& c : chain) c = _mm512_fmadd_pd(c, scale, shift);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  alignas(64) double lanes[8];
  double sink = 0;
  for (auto& c : chain) {
    _mm512_store_pd(lanes, c);
    sink += lanes[0];
  }
  benchmark::DoNotOptimize(sink);
  return peak_rate(seconds.count(), 8);
}

__attribute__((target("avx2,fma"))) double avx2_peak() {
  __m256d chain[peak_chains];
  for (auto& c : chain) c = _mm256_set1_pd(1.0);
  const __m256d scale = _mm256_set1_pd(0.9999999), shift = _mm256_set1_pd(1e-9);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < peak_iterations; ++i)
    for (auto& c : chain) c = _mm256_fmadd_pd(c, scale, shift);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  alignas(32) double lanes[4];
  double sink = 0;
  for (auto& c : chain) {
    _mm256_store_pd(lanes, c);
    sink += lanes[0];
  }
  benchmark::DoNotOptimize(sink);
  return peak_rate(seconds.count(), 4);
}

double core_peak() {
  static const double peak = __builtin_cpu_supports("avx512f") ? avx512_peak()
                             : __builtin_cpu_supports("fma")   ? avx2_peak()
                                                               : 0.0;
  return peak;
}

void model_steps(benchmark::State& state) {
  omp_set_num_threads(1);
  const int kind = static_cast<int>(state.range(0));
  const int depth = static_cast<int>(state.range(1)), heads = static_cast<int>(state.range(2));
  const auto covariance = Covariance::parse("identity", bench_dim, 1);
  const auto law = PromptLaw::unshifted(covariance, Task());
  StochasticOptions one_layer;
  one_layer.optimiser = Optimiser::adam;
  one_layer.steps = bench_steps;
  one_layer.batch = bench_batch;
  one_layer.learning_rate = 1e-4;
  DeepTrainingOptions deep;
  deep.steps = bench_steps;
  deep.batch = bench_batch;
  deep.learning_rate = 1e-4;
  deep.warmup_fraction = 0.0;
  one_layer.compressed_prompts = kind == 0;
  for (auto _ : state) {
    if (kind == 0 || kind == 3)
      benchmark::DoNotOptimize(train_stochastic(covariance, bench_length, one_layer, 1, 2));
    if (kind == 1) benchmark::DoNotOptimize(train_deep_lsa(law, bench_length, depth, deep, 1, 2));
    if (kind == 2)
      benchmark::DoNotOptimize(
          train_softmax_attention(law, bench_length, depth, heads, deep, 1, 2));
  }
  const double flops = flops_per_prompt(kind, depth, heads);
  state.counters["steps_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * bench_steps), benchmark::Counter::kIsRate);
  const double executed = executed_flops(kind, depth, heads);
  state.counters["flops_per_prompt"] = flops;
  state.counters["executed_flops_per_prompt"] = executed;
  state.counters["executed_flops_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * bench_steps * bench_batch * executed,
      benchmark::Counter::kIsRate);
  state.counters["peak_flops_per_s"] = core_peak();
}

}  // namespace

// kind: 0 ZFB's one layer (compressed prompts), 1 lsa-L, 2 softmax-L-H, 3 ZFB's one layer on whole
// prompts.
BENCHMARK(model_steps)
    ->ArgNames({"kind", "L", "H"})
    ->Args({0, 1, 1})
    ->Args({3, 1, 1})
    ->Args({1, 2, 1})
    ->Args({1, 4, 1})
    ->Args({2, 1, 1})
    ->Args({2, 2, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int main(int argc, char** argv) {
  std::cout << "core peak (measured, fused multiply-adds, double): " << core_peak() / 1e9
            << " Gflop/s\n";
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
