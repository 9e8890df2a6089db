#pragma once
/// Closed forms of docs/mathematics.md sections 3-7. Every function here is exact (no sampling);
/// the test suite checks each against known answers and against Monte Carlo.
#include "core/lsa.hpp"

#include <Eigen/Core>

#include <optional>

namespace icl::theory {

/// Γ = (1 + 1/N) Λ + (tr Λ / N) I, built with the training length N.
Eigen::MatrixXd gamma(const Eigen::MatrixXd& covariance, int train_length);

/// Theorem 4.1's global minimum: W^{KQ}_* = tr(Γ^{-2})^{-1/4} [[Γ^{-1}, 0], [0, 0]],
/// W^{PV}_* = tr(Γ^{-2})^{1/4} e eᵀ.
LsaParameters optimal_parameters(const Eigen::MatrixXd& covariance, int train_length);

/// L_* = ½ (tr Λ − tr(Γ^{-1} Λ²)), the minimal population loss.
double minimal_loss(const Eigen::MatrixXd& covariance, int train_length);

/// The population loss of the reduced parameters (U, u) with p = q = 0 (Lemma 5.2):
/// L = tr(½ u² ΓΛUΛUᵀ − u Λ² Uᵀ) + ½ tr Λ.
double reduced_loss(const Eigen::MatrixXd& key_query_block, double value_scalar,
                    const Eigen::MatrixXd& covariance, int train_length);

/// A Gaussian test law (docs/mathematics.md section 4): prompt inputs N(0, Λ'), a query independent
/// of the prompt with second moment Q, a task with second moment Ω, label noise of std s on prompt
/// and query labels, prompt length M. The risk is measured against the noisy query label.
struct GaussianTestLaw {
  Eigen::MatrixXd prompt_covariance;    ///< Λ'
  Eigen::MatrixXd query_second_moment;  ///< Q
  Eigen::MatrixXd task_second_moment;   ///< Ω
  double noise_std = 0.0;               ///< s
  int length = 1;                       ///< M

  /// No shift: Λ' = Q = Λ, Ω = I.
  static GaussianTestLaw in_distribution(const Eigen::MatrixXd& covariance, int length,
                                         double noise_std);
};

/// A random-covariance test law (docs/mathematics.md section 6): per prompt Λ_τ = c ·
/// diag(λ_1..λ_d), λ_j iid Exp(1), query from the same Λ_τ, task N(0, I), label noise s, length M.
struct RandomExpTestLaw {
  int dim = 1;
  double scale = 1.0;  ///< c
  double noise_std = 0.0;
  int length = 1;
  double task_scale = 1.0;   ///< w ↦ a w (Ω = a² I)
  double query_scale = 1.0;  ///< x_q ↦ q x_q (same Λ_τ)
};

/// A nonlinear task on fixed Gaussian inputs N(0, Λ) (docs/mathematics.md section 5, Theorem 4.2),
/// averaged over the task's random parameters: A = E[a aᵀ] with a = Λ^{-1} E[x y | task], S =
/// E[Cov(x y | task)], and the mean best linear error E[min_v E(<v, x> − y)² | task]. The query is
/// independent of the prompt and from the same law.
struct TaskMomentLaw {
  Eigen::MatrixXd covariance;              ///< Λ
  int length = 1;                          ///< M
  Eigen::MatrixXd coefficient_moment;      ///< A
  Eigen::MatrixXd label_input_covariance;  ///< S
  double best_linear_error = 0.0;
};

/// E(ŷ − y_q)² of the fixed-preconditioner predictor ŷ = hᵀ V x_q (docs/mathematics.md section 4).
double preconditioner_risk(const Eigen::MatrixXd& preconditioner, const GaussianTestLaw& law);
/// The same, averaged over the random covariance (exact, from the moments of Exp(1)).
double preconditioner_risk(const Eigen::MatrixXd& preconditioner, const RandomExpTestLaw& law);

/// For a task-moment law: (1/M) tr(Λ Vᵀ S V) + tr(A (ΛV − I) Λ (VᵀΛ − I)) + best (Theorem 4.2 for
/// V = Γ^{-1}, averaged over tasks).
double preconditioner_risk(const Eigen::MatrixXd& preconditioner, const TaskMomentLaw& law);
/// Its minimiser over V: ((1/M) S + Λ A Λ)^{-1} Λ A (Γ_M^{-1} for linear tasks).
Eigen::MatrixXd best_preconditioner(const TaskMomentLaw& law);
double gd1_optimal_step(const TaskMomentLaw& law);
double zero_risk(const TaskMomentLaw& law);
inline std::optional<double> ols_risk(const TaskMomentLaw&) {
  return std::nullopt;
}

/// Theorem 4.2, linear tasks, in distribution, per eigenvalue:
/// R = Σ_i [λ_i²(λ_i+T)/(M γ_i²) + λ_i(λ_i+T)²/(N² γ_i²)], T = tr Λ, γ_i = (1+1/N)λ_i + T/N.
double theorem42_linear_risk(const Eigen::VectorXd& eigenvalues, int train_length, int test_length);
/// The 1/N² floor of Theorem 4.2 (the M → ∞ limit of theorem42_linear_risk).
double theorem42_linear_floor(const Eigen::VectorXd& eigenvalues, int train_length);

/// Theorem 4.2 for a general joint law of (x, y) with x ~ N(0, Λ): given a = Λ^{-1} E[x y],
/// Σ = Cov(x y) and the best linear error min_v E(<v,x> − y)²,
///   E(ŷ − y_q)² = best + (1/M) tr(Σ Γ^{-2} Λ) + (1/N²)[‖a‖²_{Γ^{-2}Λ³} + 2T‖a‖²_{Γ^{-2}Λ²} +
///   T²‖a‖²_{Γ^{-2}Λ}].
double theorem42_risk(const Eigen::MatrixXd& covariance, int train_length, int test_length,
                      const Eigen::VectorXd& best_linear_coefficients,
                      const Eigen::MatrixXd& label_input_covariance, double best_linear_error);

/// Random covariance (Theorem 4.5): coefficients of the reduced flow for iid Exp(1) eigenvalues.
/// alpha(i, j) = E[(1+1/N) λ_i² λ_j + (1/N) λ_i λ_j Σ_k λ_k] (alpha(i, i) = α_i), beta = E λ_i².
struct RandomExpFlowCoefficients {
  Eigen::MatrixXd alpha;
  Eigen::VectorXd beta;
};
RandomExpFlowCoefficients random_exp_flow_coefficients(int dim, int train_length);

/// V_rdm = (E[Γ_τ Λ_τ²])^{-1} E[Λ_τ²] = diag(β_i / α_i), the gradient-flow limit for random-exp.
Eigen::MatrixXd random_exp_preconditioner(int dim, int train_length);

/// The best fixed preconditioner V of a one-layer LSA for a test law: a²(a² Γ'_M + (s²/M) I)^{-1}
/// for a Gaussian law with Ω = a² I (Γ_M^{-1} in distribution and without noise; it does not depend
/// on Q), the length-M V_rdm (with the noise term) for random-exp.
Eigen::MatrixXd best_preconditioner(const GaussianTestLaw& law);
Eigen::MatrixXd best_preconditioner(const RandomExpTestLaw& law);

/// One step of gradient descent from 0, ŷ = η x_qᵀ h: the risk-minimising η for a test law.
double gd1_optimal_step(const GaussianTestLaw& law);
double gd1_optimal_step(const RandomExpTestLaw& law);

/// The zero predictor: tr(QΩ) + s².
double zero_risk(const GaussianTestLaw& law);
double zero_risk(const RandomExpTestLaw& law);

/// Min-norm least squares (docs/mathematics.md section 7), where a closed form exists: M ≥ d
/// without noise (0), M ≥ d + 2 with noise (s² d/(M − d − 1), any Λ), M < d with an isotropic Λ' =
/// cI. Only in distribution (Q = Λ', Ω = I). Empty otherwise.
std::optional<double> ols_risk(const GaussianTestLaw& law);
std::optional<double> ols_risk(const RandomExpTestLaw& law);

}  // namespace icl::theory
