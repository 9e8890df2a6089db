#pragma once
/// Linear-regression prompts (MATH.md section 1): task w ~ N(0, I), inputs x_i and query x_q iid
/// N(0, Λ), labels y_i = <w, x_i> (+ optional noise).
#include "core/covariance.hpp"
#include "core/rng.hpp"

#include <Eigen/Core>

#include <cstdint>

namespace icl {

/// One sampled prompt. Storage is reused between draws.
struct Prompt {
  Eigen::MatrixXd inputs;   ///< d x n, column i is x_i
  Eigen::VectorXd labels;   ///< n, y_i
  Eigen::VectorXd query;    ///< d, x_q
  double query_label = 0;   ///< y_q, the target the risk is measured against (noisy if noise > 0)
  Eigen::VectorXd task;     ///< d, w
  Eigen::VectorXd random_diagonal;  ///< Λ_τ for random covariances, empty otherwise

  int dim() const { return static_cast<int>(query.size()); }
  int length() const { return static_cast<int>(labels.size()); }
};

/// Statistics of a prompt that the linear predictors need (MATH.md section 2):
/// S = (1/n) Σ x_i x_iᵀ is not formed here because most predictors need only h.
struct PromptMoments {
  Eigen::VectorXd label_weighted_mean;  ///< h = (1/n) Σ y_i x_i
  double label_second_moment = 0;       ///< s_yy = (1/n) Σ y_i²
};
void compute_moments(const Prompt& prompt, PromptMoments& moments);

/// Draws prompts of one length from one covariance, addressed by (seed, point, prompt index).
class PromptSampler {
 public:
  /// `noise_std` is the standard deviation of the label noise on prompt and query labels.
  PromptSampler(const Covariance& covariance, int length, double noise_std);

  void sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
              Prompt& out) const;

  const Covariance& covariance() const { return covariance_; }
  int length() const { return length_; }
  double noise_std() const { return noise_std_; }

 private:
  Covariance covariance_;
  int length_;
  double noise_std_;
};

/// The embedding E = [x_1 ... x_n x_q; y_1 ... y_n 0] ∈ R^{(d+1)x(n+1)} (MATH.md section 1).
Eigen::MatrixXd embed(const Prompt& prompt);

}  // namespace icl
