#include "core/theory.hpp"

#include "core/errors.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include <cmath>
#include <limits>

namespace icl::theory {
namespace {

// Moments of Exp(1): E λ = 1, E λ² = 2, E λ³ = 6.
constexpr double exp_m1 = 1.0;
constexpr double exp_m2 = 2.0;
constexpr double exp_m3 = 6.0;

Eigen::MatrixXd spd_inverse(const Eigen::MatrixXd& matrix, const char* what) {
  Eigen::LLT<Eigen::MatrixXd> llt(matrix);
  if (llt.info() != Eigen::Success)
    throw NumericalError(std::string(what) + " is not positive definite");
  return llt.solve(Eigen::MatrixXd::Identity(matrix.rows(), matrix.cols()));
}

// ŷ = η x_qᵀ h has risk a η² − 2 b η + c; read a, b, c off three evaluations of the exact risk.
template <typename Law>
double quadratic_minimiser(const Law& law, int dim) {
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(dim, dim);
  const double at_zero = preconditioner_risk(0.0 * identity, law);
  const double at_one = preconditioner_risk(identity, law);
  const double at_minus_one = preconditioner_risk(-identity, law);
  const double curvature = 0.5 * (at_one + at_minus_one) - at_zero;
  const double slope = 0.25 * (at_minus_one - at_one);
  return slope / curvature;
}

bool is_multiple_of_identity(const Eigen::MatrixXd& matrix, double& multiple) {
  multiple = matrix.trace() / static_cast<double>(matrix.rows());
  const double scale = std::max(std::abs(multiple), 1e-300);
  return (matrix - multiple * Eigen::MatrixXd::Identity(matrix.rows(), matrix.cols()))
             .cwiseAbs()
             .maxCoeff() <= 1e-12 * scale;
}

}  // namespace

Eigen::MatrixXd gamma(const Eigen::MatrixXd& covariance, int train_length) {
  const double n = train_length;
  return (1.0 + 1.0 / n) * covariance +
         (covariance.trace() / n) * Eigen::MatrixXd::Identity(covariance.rows(), covariance.cols());
}

LsaParameters optimal_parameters(const Eigen::MatrixXd& covariance, int train_length) {
  const int dim = static_cast<int>(covariance.rows());
  const Eigen::MatrixXd gamma_inverse = spd_inverse(gamma(covariance, train_length), "Gamma");
  const double trace_inverse_squared = (gamma_inverse * gamma_inverse).trace();
  LsaParameters parameters = LsaParameters::zero(dim);
  parameters.key_query.topLeftCorner(dim, dim) =
      std::pow(trace_inverse_squared, -0.25) * gamma_inverse;
  parameters.value_projection(dim, dim) = std::pow(trace_inverse_squared, 0.25);
  return parameters;
}

double minimal_loss(const Eigen::MatrixXd& covariance, int train_length) {
  const Eigen::MatrixXd gamma_inverse = spd_inverse(gamma(covariance, train_length), "Gamma");
  return 0.5 * (covariance.trace() - (gamma_inverse * covariance * covariance).trace());
}

double reduced_loss(const Eigen::MatrixXd& key_query_block, double value_scalar,
                    const Eigen::MatrixXd& covariance, int train_length) {
  const Eigen::MatrixXd& U = key_query_block;
  const double u = value_scalar;
  const Eigen::MatrixXd g = gamma(covariance, train_length);
  const Eigen::MatrixXd lambda_u_lambda = covariance * U * covariance;
  return 0.5 * u * u * (g * lambda_u_lambda * U.transpose()).trace() -
         u * (covariance * covariance * U.transpose()).trace() + 0.5 * covariance.trace();
}

GaussianTestLaw GaussianTestLaw::in_distribution(const Eigen::MatrixXd& covariance, int length,
                                                 double noise_std) {
  return {covariance, covariance, Eigen::MatrixXd::Identity(covariance.rows(), covariance.cols()),
          noise_std, length};
}

double preconditioner_risk(const Eigen::MatrixXd& V, const GaussianTestLaw& law) {
  const Eigen::MatrixXd& lambda = law.prompt_covariance;
  const Eigen::MatrixXd& Q = law.query_second_moment;
  const Eigen::MatrixXd& omega = law.task_second_moment;
  const double m = law.length;
  const double noise_variance = law.noise_std * law.noise_std;
  const Eigen::MatrixXd B = V * Q * V.transpose();
  // E[S B S] = (1 + 1/M) Λ' B Λ' + (1/M) tr(B Λ') Λ' (Gaussian fourth moments, B symmetric).
  const Eigen::MatrixXd expected_sbs =
      (1.0 + 1.0 / m) * lambda * B * lambda + ((B * lambda).trace() / m) * lambda;
  return (expected_sbs * omega).trace() - (lambda * V * Q * omega).trace() -
         (Q * V.transpose() * lambda * omega).trace() + (Q * omega).trace() +
         (noise_variance / m) * (lambda * B).trace() + noise_variance;
}

double preconditioner_risk(const Eigen::MatrixXd& V, const RandomExpTestLaw& law) {
  // Conditional on Λ_τ = c·diag(λ), the Gaussian formula with Λ' = Λ_τ, Q = q² Λ_τ, Ω = a² I reads
  //   q² a² [(1+1/M) Σ_ij λ_i² λ_j V_ij² + (1/M) Σ_ij λ_i λ_j V_ij² Σ_k λ_k − 2 Σ_i λ_i² V_ii + Σ_i
  //   λ_i]
  //   + q² (s²/M) Σ_ij λ_i λ_j V_ij² + s²;
  // average each monomial with the moments of Exp(1).
  const int d = law.dim;
  const double c = law.scale;
  const double m = law.length;
  const double noise_variance = law.noise_std * law.noise_std;
  double signal = c * d * exp_m1, noise = 0.0;
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) {
      const double v2 = V(i, j) * V(i, j);
      const bool same = i == j;
      const double e_ii_j = same ? exp_m3 : exp_m2 * exp_m1;  // E λ_i² λ_j
      const double e_ij_sum = same ? exp_m3 + (d - 1) * exp_m2 * exp_m1
                                   : 2.0 * exp_m2 * exp_m1 + (d - 2) * exp_m1 * exp_m1 * exp_m1;
      const double e_ij = same ? exp_m2 : exp_m1 * exp_m1;  // E λ_i λ_j
      signal += c * c * c * v2 * ((1.0 + 1.0 / m) * e_ii_j + e_ij_sum / m);
      noise += (noise_variance / m) * c * c * e_ij * v2;
    }
    signal -= 2.0 * c * c * exp_m2 * V(i, i);
  }
  const double q2 = law.query_scale * law.query_scale;
  return q2 * (law.task_scale * law.task_scale * signal + noise) + noise_variance;
}

double preconditioner_risk(const Eigen::MatrixXd& V, const TaskMomentLaw& law) {
  const Eigen::MatrixXd& lambda = law.covariance;
  const int dim = static_cast<int>(lambda.rows());
  const Eigen::MatrixXd bias = lambda * V - Eigen::MatrixXd::Identity(dim, dim);
  return (lambda * V.transpose() * law.label_input_covariance * V).trace() / law.length +
         (law.coefficient_moment * bias * lambda * bias.transpose()).trace() +
         law.best_linear_error;
}

Eigen::MatrixXd best_preconditioner(const TaskMomentLaw& law) {
  const Eigen::MatrixXd& lambda = law.covariance;
  const Eigen::MatrixXd system =
      law.label_input_covariance / law.length + lambda * law.coefficient_moment * lambda;
  return system.fullPivLu().solve(lambda * law.coefficient_moment);
}

double gd1_optimal_step(const TaskMomentLaw& law) {
  return quadratic_minimiser(law, static_cast<int>(law.covariance.rows()));
}

double zero_risk(const TaskMomentLaw& law) {
  return law.best_linear_error + (law.coefficient_moment * law.covariance).trace();
}

double theorem42_linear_risk(const Eigen::VectorXd& eigenvalues, int train_length,
                             int test_length) {
  const double trace = eigenvalues.sum();
  const double n = train_length;
  const double m = test_length;
  double risk = 0.0;
  for (double lambda : eigenvalues) {
    const double g = (1.0 + 1.0 / n) * lambda + trace / n;
    risk += lambda * lambda * (lambda + trace) / (m * g * g) +
            lambda * (lambda + trace) * (lambda + trace) / (n * n * g * g);
  }
  return risk;
}

double theorem42_linear_floor(const Eigen::VectorXd& eigenvalues, int train_length) {
  const double trace = eigenvalues.sum();
  const double n = train_length;
  double floor = 0.0;
  for (double lambda : eigenvalues) {
    const double g = (1.0 + 1.0 / n) * lambda + trace / n;
    floor += lambda * (lambda + trace) * (lambda + trace) / (n * n * g * g);
  }
  return floor;
}

double theorem42_risk(const Eigen::MatrixXd& covariance, int train_length, int test_length,
                      const Eigen::VectorXd& a, const Eigen::MatrixXd& sigma,
                      double best_linear_error) {
  const Eigen::MatrixXd gamma_inverse = spd_inverse(gamma(covariance, train_length), "Gamma");
  const Eigen::MatrixXd g2 = gamma_inverse * gamma_inverse;
  const Eigen::MatrixXd& lambda = covariance;
  const double trace = lambda.trace();
  const double n = train_length;
  const Eigen::MatrixXd g2_lambda = g2 * lambda;
  const Eigen::MatrixXd g2_lambda2 = g2_lambda * lambda;
  const Eigen::MatrixXd g2_lambda3 = g2_lambda2 * lambda;
  const double variance = (sigma * g2_lambda).trace() / test_length;
  const double bias = (a.dot(g2_lambda3 * a) + 2.0 * trace * a.dot(g2_lambda2 * a) +
                       trace * trace * a.dot(g2_lambda * a)) /
                      (n * n);
  return best_linear_error + variance + bias;
}

RandomExpFlowCoefficients random_exp_flow_coefficients(int dim, int train_length) {
  const double n = train_length;
  RandomExpFlowCoefficients coefficients;
  coefficients.alpha.resize(dim, dim);
  for (int i = 0; i < dim; ++i)
    for (int j = 0; j < dim; ++j)
      coefficients.alpha(i, j) =
          i == j ? (1.0 + 1.0 / n) * exp_m3 + (exp_m3 + (dim - 1) * exp_m2 * exp_m1) / n
                 : (1.0 + 1.0 / n) * exp_m2 * exp_m1 +
                       (2.0 * exp_m2 * exp_m1 + (dim - 2) * exp_m1 * exp_m1 * exp_m1) / n;
  coefficients.beta = Eigen::VectorXd::Constant(dim, exp_m2);
  return coefficients;
}

Eigen::MatrixXd random_exp_preconditioner(int dim, int train_length) {
  const auto coefficients = random_exp_flow_coefficients(dim, train_length);
  return coefficients.beta.cwiseQuotient(coefficients.alpha.diagonal()).asDiagonal();
}

Eigen::MatrixXd best_preconditioner(const GaussianTestLaw& law) {
  // R(V) = a² tr(V Q Vᵀ Γ'Λ') − 2a² tr(Λ' V Q) + (s²/M) tr(V Q Vᵀ Λ') + const, stationary at
  // (a² Γ' + s²/M) Λ' V Q = a² Λ' Q, i.e. V = a² (a² Γ' + (s²/M) I)^{-1} whatever Q is.
  const int dim = static_cast<int>(law.prompt_covariance.rows());
  const double task_second_moment = law.task_second_moment.trace() / dim;  // a² for Ω = a² I
  const double noise_term = law.noise_std * law.noise_std / law.length;
  const Eigen::MatrixXd g = gamma(law.prompt_covariance, law.length);
  return task_second_moment *
         spd_inverse(task_second_moment * g + noise_term * Eigen::MatrixXd::Identity(dim, dim),
                     "a^2 Gamma_M + (s^2/M) I");
}

Eigen::MatrixXd best_preconditioner(const RandomExpTestLaw& law) {
  // Minimise the random-covariance risk over diagonal V entrywise:
  // V_ii = a² c² β / (a² c³ α_i + (s²/M) c² β).
  const auto coefficients = random_exp_flow_coefficients(law.dim, law.length);
  const double c = law.scale;
  const double a2 = law.task_scale * law.task_scale;
  const double noise_term = law.noise_std * law.noise_std / law.length;
  Eigen::VectorXd diagonal(law.dim);
  for (int i = 0; i < law.dim; ++i)
    diagonal(i) = a2 * c * c * coefficients.beta(i) /
                  (a2 * c * c * c * coefficients.alpha(i, i) + noise_term * c * c * exp_m2);
  return diagonal.asDiagonal();
}

double gd1_optimal_step(const GaussianTestLaw& law) {
  return quadratic_minimiser(law, static_cast<int>(law.prompt_covariance.rows()));
}
double gd1_optimal_step(const RandomExpTestLaw& law) {
  return quadratic_minimiser(law, law.dim);
}

double zero_risk(const GaussianTestLaw& law) {
  return (law.query_second_moment * law.task_second_moment).trace() + law.noise_std * law.noise_std;
}
double zero_risk(const RandomExpTestLaw& law) {
  return law.task_scale * law.task_scale * law.query_scale * law.query_scale * law.scale * law.dim *
             exp_m1 +
         law.noise_std * law.noise_std;
}

std::optional<double> ols_risk(const GaussianTestLaw& law) {
  const int d = static_cast<int>(law.prompt_covariance.rows());
  const int m = law.length;
  const double noise_variance = law.noise_std * law.noise_std;
  double task_scale = 0.0;
  if (!is_multiple_of_identity(law.task_second_moment, task_scale)) return std::nullopt;
  const Eigen::MatrixXd& Q = law.query_second_moment;
  if (m >= d) {
    if (noise_variance == 0.0) return 0.0;
    if (m < d + 2) return std::nullopt;  // E‖(XᵀX)^{-1}‖ is infinite
    // ŵ − w = (XᵀX)^{-1} Xᵀ ε and E (XᵀX)^{-1} = Λ'^{-1} / (M − d − 1).
    Eigen::LLT<Eigen::MatrixXd> llt(law.prompt_covariance);
    if (llt.info() != Eigen::Success) return std::nullopt;  // singular inputs (half-subspace)
    const Eigen::MatrixXd lambda_inverse = llt.solve(Eigen::MatrixXd::Identity(d, d));
    return noise_variance * (Q * lambda_inverse).trace() / (m - d - 1) + noise_variance;
  }
  double input_scale = 0.0;
  if (!is_multiple_of_identity(law.prompt_covariance, input_scale)) return std::nullopt;
  // Isotropic inputs: the row space of X is a uniformly random M-dimensional subspace, so
  // E(I − P) = (d − M)/d · I and E X^+ X^{+T} = M / (c d (d − M − 1)) · I.
  double risk = task_scale * Q.trace() * (d - m) / d + noise_variance;
  if (noise_variance > 0.0) {
    if (m > d - 2) return std::nullopt;
    risk += noise_variance * Q.trace() * m / (input_scale * d * (d - m - 1));
  }
  return risk;
}

std::optional<double> ols_risk(const RandomExpTestLaw& law) {
  const double noise_variance = law.noise_std * law.noise_std;
  if (law.length < law.dim) return std::nullopt;
  if (noise_variance == 0.0) return 0.0;
  if (law.length < law.dim + 2) return std::nullopt;
  // Conditional on Λ_τ the Gaussian result holds with Q = q² Λ', so tr(QΛ'^{-1}) = q² d.
  return noise_variance * law.query_scale * law.query_scale * law.dim / (law.length - law.dim - 1) +
         noise_variance;
}

}  // namespace icl::theory
