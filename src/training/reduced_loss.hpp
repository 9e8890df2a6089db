#pragma once
/// The population loss of the one-layer LSA restricted to p = q = 0 (Lemma 5.2), as a function of
/// the reduced parameters (U, u), for a fixed covariance and for the random covariance
/// `random-exp`.
///
/// Both cases have the same shape in a fixed orthonormal basis Q (Λ's eigenvectors; the coordinate
/// axes for random-exp), with Ũ = Qᵀ U Q:
///   ℓ = ½ u² Σ_ij A_ij Ũ_ij² − u Σ_i b_i Ũ_ii,      L = ℓ + ½ E tr Λ,
/// fixed Λ (docs/mathematics.md section 3, derived):  A_ij = γ_i λ_i λ_j,  b_i = λ_i²;
/// random-exp (section 6):                A_ij = α_ij,         b_i = β_i.
/// In matrix form the fixed case is dU/dt = −u² ΓΛUΛ + uΛ², du/dt = −tr(uΓΛUΛUᵀ − Λ²Uᵀ).
/// The flow decouples entrywise in Ũ, so each right-hand side costs O(d²) instead of O(d³).
#include "core/covariance.hpp"

#include <Eigen/Core>

namespace icl {

class ReducedLoss {
 public:
  ReducedLoss(const Covariance& covariance, int train_length);

  /// Coordinates: Ũ = Qᵀ U Q and back.
  Eigen::MatrixXd to_eigenbasis(const Eigen::MatrixXd& U) const;
  Eigen::MatrixXd from_eigenbasis(const Eigen::MatrixXd& U_tilde) const;

  /// L and ∇ℓ in eigenbasis coordinates.
  double loss_in_eigenbasis(const Eigen::MatrixXd& U_tilde, double u) const;
  void gradient_in_eigenbasis(const Eigen::MatrixXd& U_tilde, double u, Eigen::MatrixXd& grad_U,
                              double& grad_u) const;

  /// L and ∇ℓ in the original coordinates.
  double loss(const Eigen::MatrixXd& U, double u) const;
  void gradient(const Eigen::MatrixXd& U, double u, Eigen::MatrixXd& grad_U, double& grad_u) const;

  /// The limit of uU under gradient flow (original coordinates): Γ^{-1}, or V_rdm for random-exp.
  const Eigen::MatrixXd& target() const { return target_; }
  /// The global minimum L_* = ½ E tr Λ − ½ Σ_i b_i² / A_ii.
  double minimal_loss() const { return minimal_loss_; }
  /// The norm g of the initialisation condition σ² g √d < 2: max_ij A_ij / √(b_i b_j), which is
  /// ‖Γ‖_op for a fixed Λ and max_ij α_ij / β for random-exp (Theorem 4.5's flow). Below it the
  /// loss at the initialisation is below the loss at the origin, so u never reaches 0.
  double gamma_operator_norm() const { return gamma_norm_; }
  /// The same without building the loss (O(d): the config check calls it for every setting).
  static double gamma_operator_norm(const Covariance& covariance, int train_length);
  /// max A_ij: the fastest rate of the flow is about 2 u² max A_ij.
  double max_curvature() const { return max_curvature_; }
  /// A and b of the eigenbasis form.
  const Eigen::MatrixXd& curvature() const { return curvature_; }
  const Eigen::VectorXd& forcing() const { return forcing_; }
  /// ‖b‖: the size of the gradient's forcing term, the scale of the stopping tolerance.
  double forcing_norm() const { return forcing_.norm(); }

 private:
  Eigen::MatrixXd basis_;  ///< Q
  bool identity_basis_ = false;
  Eigen::MatrixXd curvature_;  ///< A
  Eigen::VectorXd forcing_;    ///< b
  double constant_ = 0;        ///< ½ E tr Λ
  Eigen::MatrixXd target_;
  double minimal_loss_ = 0;
  double gamma_norm_ = 0;
  double max_curvature_ = 0;
};

}  // namespace icl
