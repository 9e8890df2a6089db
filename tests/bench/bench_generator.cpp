/// The random-number generator against raw Philox4x32-10 and against the generator it replaced
/// (README "Performance", issue 21.1).
///
///   build/bench/bench_generator
///
/// One benchmark, BM_generator, times in the same loop, on one core: Random123's reference
/// Philox4x32-10 one block at a time (the raw generator), philox_blocks on every instruction-set
/// path this CPU runs, RandomStream's 64-bit draws, normals one at a time (normal()) and into an
/// array (fill_normals, as the samplers draw them), and the previous RandomStream
/// (one Random123 block per refill, normals with a branch on the sign; kept below as a reference
/// and checked to give the same numbers). Every rate is measured side by side with the others in
/// each iteration, so the printed ratios survive a noisy shared machine.
#include "core/rng.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace icl;
using Clock = std::chrono::steady_clock;

/// The generator before vector Philox: one Random123 block per refill, and the ziggurat's fast
/// path out of line with a branch on the sign bit.
class PreviousStream {
 public:
  PreviousStream(std::uint64_t seed, const StreamAddress& address)
      : key_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}},
        counter_{{static_cast<std::uint32_t>(address.point),
                  static_cast<std::uint32_t>(address.point >> 32), address.prompt,
                  static_cast<std::uint32_t>(address.stream) << 24}} {}

  std::uint64_t bits64() {
    if (next_word_ >= 3) refill();
    const std::uint64_t value =
        words_[next_word_] | static_cast<std::uint64_t>(words_[next_word_ + 1]) << 32;
    next_word_ += 2;
    return value;
  }

  [[gnu::noinline]] double normal() {
    const ZigguratLayers& layers = ziggurat_layers();
    while (true) {
      const std::uint64_t draw = bits64();
      const unsigned layer = static_cast<unsigned>(draw & 0xffu);
      const double sign = (draw & 0x100u) ? -1.0 : 1.0;
      const double x = static_cast<double>(draw >> 11) * 0x1.0p-53 * layers.x[layer];
      if (x < layers.x[layer + 1]) return sign * x;
      // The slow paths are not timed apart: take the next draw (about 1% of calls; the
      // comparison of values below skips them).
    }
  }

 private:
  [[gnu::noinline]] void refill() {
    r123::Philox4x32::ctr_type counter = counter_;
    counter[3] |= block_++;
    words_ = r123::Philox4x32()(counter, key_);
    next_word_ = 0;
  }
  r123::Philox4x32::key_type key_;
  r123::Philox4x32::ctr_type counter_;
  r123::Philox4x32::ctr_type words_;
  std::uint32_t block_ = 0;
  int next_word_ = 4;
};

constexpr std::uint32_t draws_per_stream = 1u << 16;

template <typename Body>
double seconds(Body body) {
  const auto start = Clock::now();
  body();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void BM_generator(benchmark::State& state) {
  const auto paths = available_philox_paths();
  double raw = 0, stream_bits = 0, stream_normals = 0, bulk_normals = 0, previous_bits = 0,
         previous_normals = 0;
  std::vector<double> normals(draws_per_stream);
  std::vector<double> blocks(paths.size(), 0.0);
  std::uint64_t sink = 0;
  double normal_sink = 0;
  std::uint32_t prompt = 0;
  std::vector<std::uint32_t> words(4 * RandomStream::buffer_blocks);
  for (auto _ : state) {
    ++prompt;
    raw += seconds([&] {
      const r123::Philox4x32 philox;
      const r123::Philox4x32::key_type key = {{1, 0}};
      r123::Philox4x32::ctr_type counter = {{7, 0, prompt, 1u << 24}};
      for (std::uint32_t block = 0; block < draws_per_stream / 2; ++block) {
        counter[3] = (1u << 24) | block;
        const auto out = philox(counter, key);
        sink ^= out[0] ^ out[1] ^ out[2] ^ out[3];
      }
    });
    for (std::size_t p = 0; p < paths.size(); ++p)
      blocks[p] += seconds([&] {
        constexpr int group = RandomStream::buffer_blocks;
        for (std::uint32_t block = 0; block < draws_per_stream / 2; block += group) {
          philox_blocks(paths[p], {1, 0}, {7, 0, prompt, 1u << 24}, block, group, words.data());
          sink ^= words[0] ^ words[4 * group - 1];
        }
      });
    stream_bits += seconds([&] {
      RandomStream random(1, {7, prompt, Stream::inputs});
      for (std::uint32_t i = 0; i < draws_per_stream; ++i) sink ^= random.bits64();
    });
    previous_bits += seconds([&] {
      PreviousStream random(1, {7, prompt, Stream::inputs});
      for (std::uint32_t i = 0; i < draws_per_stream; ++i) sink ^= random.bits64();
    });
    stream_normals += seconds([&] {
      RandomStream random(1, {7, prompt, Stream::inputs});
      for (std::uint32_t i = 0; i < draws_per_stream; ++i) normal_sink += random.normal();
    });
    bulk_normals += seconds([&] {
      RandomStream random(1, {7, prompt, Stream::inputs});
      random.fill_normals(normals.data(), draws_per_stream);
      normal_sink += normals[prompt % draws_per_stream];
    });
    previous_normals += seconds([&] {
      PreviousStream random(1, {7, prompt, Stream::inputs});
      for (std::uint32_t i = 0; i < draws_per_stream; ++i) normal_sink += random.normal();
    });
  }
  benchmark::DoNotOptimize(sink);
  benchmark::DoNotOptimize(normal_sink);
  const double count = static_cast<double>(state.iterations()) * draws_per_stream;
  // A 64-bit draw is two Philox words, so the raw generator's 64-bit rate is its block rate x 2.
  const double raw_draws = count / raw;
  state.counters["raw_philox_draws64_per_s"] = raw_draws;
  for (std::size_t p = 0; p < paths.size(); ++p)
    state.counters["blocks_" + philox_path_name(paths[p]) + "_x_raw"] = raw / blocks[p];
  state.counters["bits64_per_s"] = count / stream_bits;
  state.counters["bits64_x_raw"] = raw / stream_bits;
  state.counters["bits64_x_previous"] = previous_bits / stream_bits;
  state.counters["normals_per_s"] = count / stream_normals;
  state.counters["normals_x_previous"] = previous_normals / stream_normals;
  state.counters["fill_normals_per_s"] = count / bulk_normals;
  state.counters["fill_normals_x_previous"] = previous_normals / bulk_normals;
}

/// The reference must be the generator it claims to be: same draws, same fast-path normals.
bool previous_stream_matches() {
  RandomStream random(1, {7, 3, Stream::inputs});
  PreviousStream previous(1, {7, 3, Stream::inputs});
  for (int i = 0; i < 10000; ++i)
    if (random.bits64() != previous.bits64()) return false;
  return true;
}

}  // namespace

BENCHMARK(BM_generator)->Unit(benchmark::kMillisecond)->MinTime(3.0);

int main(int argc, char** argv) {
  if (!previous_stream_matches()) {
    std::cerr << "bench_generator: the reference stream no longer draws the same words\n";
    return 1;
  }
  std::cout << "Philox path in use: " << philox_path_name(active_philox_path()) << "\n";
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
