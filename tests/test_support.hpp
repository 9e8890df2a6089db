#pragma once
/// Helpers shared by the tests: relative comparison with a stated tolerance, the anisotropic
/// covariances the tests use (isotropic ones hide bugs), and dense one-layer weights.
#include "core/lsa.hpp"
#include "core/rng.hpp"

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

/// Dense weights: every entry of W^{PV} and W^{KQ} N(0, scale²), from one fixed stream.
inline LsaParameters random_lsa_parameters(int dim, double scale) {
  RandomStream random(4, {5, 6, Stream::parameters});
  LsaParameters parameters = LsaParameters::zero(dim);
  random.fill_normal(parameters.value_projection);
  random.fill_normal(parameters.key_query);
  parameters.value_projection *= scale;
  parameters.key_query *= scale;
  return parameters;
}

}  // namespace icl::testing
