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
  /// M3 = Σ (x − mean)³ and M4 = Σ (x − mean)⁴ (Pébay's one-pass updates): squared errors are
  /// heavy-tailed, and the skewness says how many prompts the mean needs before its standard
  /// error can be trusted (minimum_prompts).
  double sum_cubed_deviations = 0.0;
  double sum_fourth_deviations = 0.0;

  void add(double value) {
    ++count;
    const double n = static_cast<double>(count);
    const double delta = value - mean;
    const double delta_n = delta / n;
    const double increment = delta * delta_n * (n - 1);  // M2's increment
    // M4 and M3 first: their updates use the old M2 and M3.
    sum_fourth_deviations += increment * delta_n * delta_n * (n * n - 3 * n + 3) +
                             6 * delta_n * delta_n * sum_squared_deviations -
                             4 * delta_n * sum_cubed_deviations;
    sum_cubed_deviations += increment * delta_n * (n - 2) - 3 * delta_n * sum_squared_deviations;
    // Mean and M2 exactly as before the higher moments were kept (delta_n is delta / n: results
    // stay bit-identical).
    mean += delta_n;
    sum_squared_deviations += delta * (value - mean);
  }

  void merge(const RunningStatistics& other) {
    if (other.count == 0) return;
    if (count == 0) {
      *this = other;
      return;
    }
    const double a = static_cast<double>(count), b = static_cast<double>(other.count);
    const double total = static_cast<double>(count + other.count);
    const double delta = other.mean - mean;
    const double delta2 = delta * delta;
    sum_fourth_deviations +=
        other.sum_fourth_deviations +
        delta2 * delta2 * a * b * (a * a - a * b + b * b) / (total * total * total) +
        6 * delta2 * (a * a * other.sum_squared_deviations + b * b * sum_squared_deviations) /
            (total * total) +
        4 * delta * (a * other.sum_cubed_deviations - b * sum_cubed_deviations) / total;
    sum_cubed_deviations +=
        other.sum_cubed_deviations + delta2 * delta * a * b * (a - b) / (total * total) +
        3 * delta * (a * other.sum_squared_deviations - b * sum_squared_deviations) / total;
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
  /// Sample skewness g1 = √n M3 / M2^{3/2} (NaN for fewer than 3 values or none spread).
  double skewness() const {
    if (count < 3 || !(sum_squared_deviations > 0)) return NAN;
    return std::sqrt(static_cast<double>(count)) * sum_cubed_deviations /
           std::pow(sum_squared_deviations, 1.5);
  }
  /// Sample excess kurtosis g2 = n M4 / M2² − 3.
  double excess_kurtosis() const {
    if (count < 4 || !(sum_squared_deviations > 0)) return NAN;
    return static_cast<double>(count) * sum_fourth_deviations /
               (sum_squared_deviations * sum_squared_deviations) -
           3;
  }
};

/// Cochran's rule for the mean of a skewed sample: its normal approximation (and so a z-score
/// built from its standard error) holds once n > 25 g1². Fewer prompts than this: heavy-tailed,
/// the standard error understates the uncertainty (NaN skewness: no requirement).
inline double minimum_prompts(double skewness) {
  return std::isfinite(skewness) ? 25 * skewness * skewness : 0.0;
}

}  // namespace icl
