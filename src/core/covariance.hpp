#pragma once
/// Input covariances Λ, from their spec strings (config key `covariance`, README "Study config"):
///   identity | diag:l1,...,ld | power:a | toeplitz:r | rotated:<spec> | random-exp
#include "core/rng.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <string_view>

namespace icl {

class Covariance {
 public:
  /// Parse and validate `spec` for dimension `dim`. `seed` fixes the Haar rotation of `rotated:`.
  /// Throws ConfigError naming the spec when it is malformed, does not fit `dim`, or is not
  /// positive definite.
  static Covariance parse(std::string_view spec, int dim, std::uint64_t seed);

  /// A fixed covariance from a symmetric positive definite matrix (tests, shifted test laws).
  static Covariance from_matrix(const Eigen::MatrixXd& matrix, std::string name);

  const std::string& spec() const { return spec_; }
  int dim() const { return static_cast<int>(eigenvalues_.size()); }
  /// `random-exp`: a fresh Λ_τ = scale · diag(Exp(1)) per prompt. matrix() is then E Λ_τ = scale·I.
  bool is_random() const { return random_; }
  /// Λ's eigenvectors are the coordinate axes, so sampling scales rows instead of multiplying.
  bool is_diagonal() const { return diagonal_; }
  /// Multiplier of the per-prompt Exp(1) entries of Λ_τ (1 for the plain `random-exp`).
  double random_scale() const { return random_scale_; }

  /// Λ (symmetric, positive definite).
  const Eigen::MatrixXd& matrix() const { return matrix_; }
  /// Eigenvalues of Λ, and the orthonormal eigenvectors as columns, in matching order.
  const Eigen::VectorXd& eigenvalues() const { return eigenvalues_; }
  const Eigen::MatrixXd& eigenvectors() const { return eigenvectors_; }
  /// A square root: Λ = factor · factorᵀ, factor = U diag(√λ).
  const Eigen::MatrixXd& factor() const { return factor_; }

  /// The same law with every input multiplied by `c` (Λ → c²Λ).
  Covariance scaled(double c) const;

  /// Draw a per-prompt diagonal for random covariances (`random-exp`), from the covariance stream.
  void draw_random_diagonal(RandomStream& random, Eigen::VectorXd& diagonal) const;

  /// Columns of `inputs` become draws x = factor·z of this law. For random covariances,
  /// `random_diagonal` holds the prompt's Λ_τ (from draw_random_diagonal).
  void transform(Eigen::Ref<Eigen::MatrixXd> standard_normals,
                 const Eigen::VectorXd& random_diagonal) const;

 private:
  Covariance() = default;
  void set_from_matrix(const Eigen::MatrixXd& matrix);

  std::string spec_;
  bool random_ = false;
  bool diagonal_ = false;
  double random_scale_ = 1.0;
  Eigen::MatrixXd matrix_;
  Eigen::VectorXd eigenvalues_;
  Eigen::MatrixXd eigenvectors_;
  Eigen::MatrixXd factor_;
};

}  // namespace icl
