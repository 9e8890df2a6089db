// Result-file commits (issue 17): what one commit of 1000 finished points costs as the grid grows
// from 10^3 to 10^6 points, measured side by side for the two ways of committing: appending to
// the journal (what runs do) and rewriting the whole partial file (what they did before). The
// ratio printed at the end is the whole-file time over the journal's, per grid size; a flat
// journal column is the property the journal exists for. Files go to $TMPDIR (default /tmp).
#include "io/result_journal.hpp"
#include "result_support.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

using namespace icl;
using namespace icl::testing;

namespace {

constexpr std::size_t points_per_commit = 1000;
std::map<std::int64_t, double> journal_seconds, whole_seconds;

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("icl-bench-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

/// The grid of `points` points with its first `done` finished.
ResultData grid(std::size_t points, std::size_t done) {
  ResultData data = synthetic_result(points);
  for (std::size_t i = 0; i < done; ++i) finish_point(data, i);
  return data;
}

/// The next commit's points (wrapping around: what they hold does not change what they cost).
std::vector<std::size_t> next_commit(std::size_t points, std::size_t& cursor) {
  std::vector<std::size_t> commit;
  for (std::size_t k = 0; k < points_per_commit; ++k) commit.push_back(cursor++ % points);
  return commit;
}

void journal_commit(benchmark::State& state) {
  const auto points = static_cast<std::size_t>(state.range(0));
  const std::string path = scratch("journal.h5.partial");
  ResultData data = grid(points, points / 2);
  ResultJournal journal(path, write_result_file(path, data), data);
  std::size_t cursor = 0;
  for (auto _ : state) {
    const auto commit = next_commit(points, cursor);
    for (std::size_t i : commit) finish_point(data, i);
    journal.append(data, commit);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(journal_path(path));
}

void whole_file_commit(benchmark::State& state) {
  const auto points = static_cast<std::size_t>(state.range(0));
  const std::string path = scratch("whole.h5.partial");
  ResultData data = grid(points, points / 2);
  std::size_t cursor = 0;
  for (auto _ : state) {
    for (std::size_t i : next_commit(points, cursor)) finish_point(data, i);
    write_result_file(path, data);
  }
  std::filesystem::remove(path);
}

/// Keeps each benchmark's mean real time per iteration for the ratio table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      const double seconds = run.GetAdjustedRealTime() / 1e3;  // reported in milliseconds
      // "journal_commit/1000/real_time": the grid size follows the first slash.
      const auto slash = run.benchmark_name().find('/');
      const auto points = std::stoll(run.benchmark_name().substr(slash + 1));
      (run.benchmark_name().rfind("journal", 0) == 0 ? journal_seconds : whole_seconds)[points] =
          seconds;
    }
  }
};

}  // namespace

BENCHMARK(journal_commit)
    ->RangeMultiplier(10)
    ->Range(1000, 1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(whole_file_commit)
    ->RangeMultiplier(10)
    ->Range(1000, 1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\ncommit of %zu finished points, milliseconds (one run, side by side)\n",
              points_per_commit);
  std::printf("%12s %12s %12s %10s\n", "grid points", "journal", "whole file", "ratio");
  for (const auto& [points, seconds] : journal_seconds) {
    const auto whole = whole_seconds.find(points);
    if (whole == whole_seconds.end()) continue;
    std::printf("%12lld %12.2f %12.2f %10.1f\n", static_cast<long long>(points), 1e3 * seconds,
                1e3 * whole->second, whole->second / seconds);
  }
  const double first = journal_seconds.begin()->second, last = journal_seconds.rbegin()->second;
  std::printf("journal commit at the largest grid / at the smallest: %.2f\n", last / first);
}
