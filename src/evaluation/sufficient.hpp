#pragma once
/// The sufficient-statistic sampler. For a Gaussian prompt with a linear task, every LinearForm
/// predictor ŷ = hᵀ V(S) x_q sees the prompt only through S = (1/M) X Xᵀ and h = (1/M) X y, and its
/// squared error averaged over the task w, the label noise and the query x_q given S is a closed
/// form (the conditional risk, docs/mathematics.md section 2 notation):
///
///   r(S) = a² m tr((VᵀS − I)ᵀ Σ_q (VᵀS − I)) + (σ²/M) tr(V Σ_q Vᵀ S) + σ²,
///
/// with E[w wᵀ] = m I, label scale a, noise σ and query covariance Σ_q. E r(S) is the risk, and the
/// per-prompt variance of r(S) is far below that of (ŷ − y_q)² (common random numbers across the
/// predictors: all of them use the same S).
///
/// S itself is drawn in O(d³) whatever M: X = F Z with Z a d x M standard Gaussian matrix, and
/// Z Zᵀ = L Lᵀ in law with L lower triangular, L_ii² ~ χ²_{M−i} (i = 0 … d−1) and L_ij ~ N(0, 1)
/// below the diagonal (the Bartlett decomposition of the Wishart law). When M < d, Z itself is
/// drawn (d x M normals, fewer than Bartlett needs). X̃ = F L then plays the role of X: S = X̃X̃ᵀ/M,
/// and X ε has the law of X̃ g with g ~ N(0, I) given S, which completes the draw of h.
///
/// Valid for: fixed or random-exp input covariances; label scale, label noise, query scale, a
/// separate (fixed or random) query covariance, linear input transforms (scale-x, test-cov,
/// random-cov-scale, skewed, half-subspace); linear and sparse:k tasks. Not valid for nonlinear
/// tasks, random-quadrants, orthogonal-query and overlapping-query (x_q or the inputs are then not
/// Gaussian and independent), nor for knn3 or a trained lsa with p, q ≠ 0.
#include "core/predictors.hpp"
#include "core/prompt.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <string>

namespace icl {

/// Why `law` cannot be sampled through its sufficient statistics; empty when it can.
std::string sufficient_sampler_obstacle(const PromptLaw& law);

/// One draw of S (and of what determines the law of the rest of the prompt given S).
struct SufficientDraw {
  Eigen::MatrixXd scaled_inputs;     ///< X̃, d x min(M, d): S = X̃X̃ᵀ/M
  Eigen::MatrixXd second_moment;     ///< S
  Eigen::VectorXd row_norms;         ///< ‖S_i·‖², shared by the diagonal-V predictors
  Eigen::VectorXd random_diagonal;   ///< Λ_τ of a random input covariance, else empty
  Eigen::VectorXd query_diagonal;    ///< the diagonal of a random query covariance, else empty
  Eigen::MatrixXd query_covariance;  ///< Σ_q when it changes per prompt (random laws)
};

/// The rest of a prompt's statistics given S: enough to run any LinearForm predictor.
struct SufficientPrompt {
  Eigen::VectorXd task;                 ///< w
  Eigen::VectorXd label_weighted_mean;  ///< h
  Eigen::VectorXd query;                ///< x_q
  double query_label = 0;               ///< y_q
};

class SufficientSampler {
 public:
  /// Throws ConfigError naming the obstacle when the law is not valid here.
  SufficientSampler(PromptLaw law, int length);

  /// S for prompt `prompt_index` (independent of the plain sampler's draws).
  void sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
              SufficientDraw& out) const;
  /// w, h, x_q and y_q given S: the exact joint law of the prompt's statistics (used by the tests
  /// that compare this sampler with the plain one; risk estimation needs only S).
  void complete(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
                const SufficientDraw& draw, SufficientPrompt& out) const;

  /// E[(ŷ − y_q)² | S] of a LinearForm predictor.
  double conditional_risk(const LinearForm& form, const SufficientDraw& draw) const;
  /// V(S) of a LinearForm predictor (least squares: (S + (λ/M) I)^+).
  Eigen::MatrixXd preconditioner(const LinearForm& form, const SufficientDraw& draw) const;
  /// ŷ = hᵀ V(S) x_q.
  double predict(const LinearForm& form, const SufficientDraw& draw,
                 const SufficientPrompt& prompt) const;

  const PromptLaw& law() const { return law_; }
  int length() const { return length_; }
  int dim() const { return law_.dim(); }

 private:
  const Eigen::MatrixXd& query_covariance(const SufficientDraw& draw) const;
  /// tr(Tᵀ Σ_q T).
  double query_quadratic(const Eigen::MatrixXd& t, const Eigen::MatrixXd& sigma) const;

  PromptLaw law_;
  int length_;
  double task_moment_;           ///< m, with E[w wᵀ] = m I
  double label_scale_;           ///< a
  double noise_variance_;        ///< σ²
  bool query_fixed_;             ///< Σ_q is the same for every prompt
  bool query_diagonal_;          ///< Σ_q is diagonal
  bool full_rank_;               ///< S is invertible with probability one
  Eigen::MatrixXd fixed_query_;  ///< Σ_q when fixed
};

}  // namespace icl
