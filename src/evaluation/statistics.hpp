#pragma once
/// Streaming mean and variance (Welford), mergeable in a fixed order (Chan, Golub & LeVeque), so
/// that per-block statistics combine into the same numbers whatever thread computed each block.
#include <cmath>
#include <cstdint>

namespace icl {

struct RunningStatistics {
  std::uint64_t count = 0;
  double mean = 0.0;
  double sum_squared_deviations = 0.0;  ///< M2 = Σ (x − mean)²

  void add(double value) {
    ++count;
    const double delta = value - mean;
    mean += delta / static_cast<double>(count);
    sum_squared_deviations += delta * (value - mean);
  }

  void merge(const RunningStatistics& other) {
    if (other.count == 0) return;
    if (count == 0) {
      *this = other;
      return;
    }
    const double total = static_cast<double>(count + other.count);
    const double delta = other.mean - mean;
    mean += delta * static_cast<double>(other.count) / total;
    sum_squared_deviations +=
        other.sum_squared_deviations +
        delta * delta * static_cast<double>(count) * static_cast<double>(other.count) / total;
    count += other.count;
  }

  /// Unbiased sample variance.
  double variance() const {
    return count > 1 ? sum_squared_deviations / static_cast<double>(count - 1) : NAN;
  }
  /// Standard error of the mean.
  double standard_error() const { return std::sqrt(variance() / static_cast<double>(count)); }
};

}  // namespace icl
