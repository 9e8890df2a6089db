#pragma once
/// Helpers shared by the tests: relative comparison with a stated tolerance, and the anisotropic
/// covariances the tests use (isotropic ones hide bugs).
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

namespace icl::testing {

inline double relative_difference(double a, double b) {
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-300});
}

inline double relative_difference(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a - b).norm() / std::max({a.norm(), b.norm(), 1e-300});
}

/// Λ = diag(4, 2, 1, 0.5, 0.1): docs/mathematics.md's anisotropic reference covariance.
inline const char* reference_diag = "diag:4,2,1,0.5,0.1";

}  // namespace icl::testing
