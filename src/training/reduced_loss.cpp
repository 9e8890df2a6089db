#include "training/reduced_loss.hpp"

#include "core/errors.hpp"
#include "core/theory.hpp"

namespace icl {

double ReducedLoss::gamma_operator_norm(const Covariance& covariance, int train_length) {
  if (covariance.is_random()) {
    // The same quantity as below, max_ij A_ij / √(b_i b_j), for the expected loss: b_i = β for
    // every i, so it is max_ij α_ij / β (docs/mathematics.md §3).
    const auto coefficients = theory::random_exp_flow_coefficients(covariance.dim(), train_length);
    return coefficients.alpha.maxCoeff() / coefficients.beta.minCoeff();
  }
  // Γ = (1 + 1/N) Λ + tr(Λ)/N · I has the eigenvalues of Λ shifted and scaled alike. (With
  // A_ij = γ_i λ_i λ_j and b_i = λ_i², max_ij A_ij / √(b_i b_j) = max_i γ_i = ‖Γ‖_op.)
  const Eigen::VectorXd& lambda = covariance.eigenvalues();
  const double n = train_length;
  return (1.0 + 1.0 / n) * lambda.maxCoeff() + lambda.sum() / n;
}

ReducedLoss::ReducedLoss(const Covariance& covariance, int train_length) {
  const int dim = covariance.dim();
  if (covariance.is_random()) {
    if (covariance.random_scale() != 1.0)
      throw ConfigError("covariance '" + covariance.spec() +
                        "': training on a scaled random covariance is not supported");
    const auto coefficients = theory::random_exp_flow_coefficients(dim, train_length);
    basis_ = Eigen::MatrixXd::Identity(dim, dim);
    curvature_ = coefficients.alpha;
    forcing_ = coefficients.beta;
    constant_ = 0.5 * dim;  // E tr Λ_τ = d
    gamma_norm_ = gamma_operator_norm(covariance, train_length);
  } else {
    const Eigen::VectorXd& lambda = covariance.eigenvalues();
    const double n = train_length;
    const Eigen::VectorXd gamma = (1.0 + 1.0 / n) * lambda.array() + lambda.sum() / n;
    basis_ = covariance.eigenvectors();
    curvature_ = (gamma.cwiseProduct(lambda)) * lambda.transpose();
    forcing_ = lambda.cwiseAbs2();
    constant_ = 0.5 * lambda.sum();
    gamma_norm_ = gamma_operator_norm(covariance, train_length);
  }
  identity_basis_ = basis_.isIdentity(0.0);
  const Eigen::VectorXd optimum = forcing_.cwiseQuotient(curvature_.diagonal());
  target_ = from_eigenbasis(optimum.asDiagonal());
  minimal_loss_ = constant_ - 0.5 * forcing_.cwiseProduct(optimum).sum();
  max_curvature_ = curvature_.maxCoeff();
}

Eigen::MatrixXd ReducedLoss::to_eigenbasis(const Eigen::MatrixXd& U) const {
  return identity_basis_ ? U : Eigen::MatrixXd(basis_.transpose() * U * basis_);
}

Eigen::MatrixXd ReducedLoss::from_eigenbasis(const Eigen::MatrixXd& U_tilde) const {
  return identity_basis_ ? U_tilde : Eigen::MatrixXd(basis_ * U_tilde * basis_.transpose());
}

double ReducedLoss::loss_in_eigenbasis(const Eigen::MatrixXd& U_tilde, double u) const {
  return 0.5 * u * u * curvature_.cwiseProduct(U_tilde.cwiseAbs2()).sum() -
         u * forcing_.dot(U_tilde.diagonal()) + constant_;
}

void ReducedLoss::gradient_in_eigenbasis(const Eigen::MatrixXd& U_tilde, double u,
                                         Eigen::MatrixXd& grad_U, double& grad_u) const {
  grad_U = u * u * curvature_.cwiseProduct(U_tilde);
  grad_U.diagonal() -= u * forcing_;
  grad_u =
      u * curvature_.cwiseProduct(U_tilde.cwiseAbs2()).sum() - forcing_.dot(U_tilde.diagonal());
}

double ReducedLoss::loss(const Eigen::MatrixXd& U, double u) const {
  return loss_in_eigenbasis(to_eigenbasis(U), u);
}

void ReducedLoss::gradient(const Eigen::MatrixXd& U, double u, Eigen::MatrixXd& grad_U,
                           double& grad_u) const {
  Eigen::MatrixXd grad_tilde;
  gradient_in_eigenbasis(to_eigenbasis(U), u, grad_tilde, grad_u);
  // Q is orthogonal, so the gradient transforms like U.
  grad_U = from_eigenbasis(grad_tilde);
}

}  // namespace icl
