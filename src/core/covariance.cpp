#include "core/covariance.hpp"

#include "core/errors.hpp"
#include "core/parse.hpp"

#include <Eigen/Eigenvalues>

#include <cmath>
#include <string>

namespace icl {
namespace {

/// rotated:rotated:S is S under the product of two rotations, itself a rotation: more than one
/// level adds nothing, a few are allowed.
constexpr int max_rotations = 4;

constexpr std::string_view valid_specs =
    "identity, diag:l1,...,ld, power:a, toeplitz:r (|r| < 1), rotated:<spec>, random-exp";

std::string quoted(std::string_view spec) {
  return "covariance " + quote(std::string(spec));
}

Eigen::MatrixXd parse_fixed_matrix(std::string_view spec, std::string_view full, int dim,
                                   std::uint64_t seed);

Eigen::MatrixXd rotate(std::string_view inner, std::string_view full, int dim, std::uint64_t seed) {
  const Eigen::MatrixXd base = parse_fixed_matrix(inner, full, dim, seed);
  // The rotation is fixed by the seed, the dimension and the inner spec, and by nothing else.
  RandomStream random(
      seed, {stable_hash("rotated|d=" + std::to_string(dim) + "|" + std::string(inner)), 0,
             Stream::covariance});
  const Eigen::MatrixXd rotation = haar_orthogonal(dim, random);
  Eigen::MatrixXd rotated = rotation * base * rotation.transpose();
  return 0.5 * (rotated + rotated.transpose());  // exact symmetry for the eigensolver
}

Eigen::MatrixXd parse_fixed_matrix(std::string_view spec, std::string_view full, int dim,
                                   std::uint64_t seed) {
  const std::string what = quoted(full);
  if (spec == "identity") return Eigen::MatrixXd::Identity(dim, dim);
  const auto colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view argument =
      colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
  if (kind == "diag" && colon != std::string_view::npos) {
    const auto pieces = split(argument, ',');
    if (static_cast<int>(pieces.size()) != dim)
      throw ConfigError(what + ": has " + std::to_string(pieces.size()) +
                        " diagonal entries, expected d = " + std::to_string(dim));
    Eigen::VectorXd diagonal(dim);
    for (int i = 0; i < dim; ++i) {
      diagonal(i) = parse_finite_double(pieces[i], what);
      if (diagonal(i) <= 0.0)
        throw ConfigError(what + ": is not positive definite (entry " + std::to_string(i + 1) +
                          " is " + std::string(pieces[i]) + ", expected > 0)");
      if (diagonal(i) < 1e-12 || diagonal(i) > 1e12)
        throw ConfigError(what + ": entry " + std::to_string(i + 1) + " is " +
                          std::string(pieces[i]) + ", expected a value in [1e-12, 1e12]");
    }
    return diagonal.asDiagonal();
  }
  if (kind == "power" && colon != std::string_view::npos) {
    const double exponent = parse_finite_double(argument, what);
    Eigen::VectorXd diagonal(dim);
    for (int i = 0; i < dim; ++i) diagonal(i) = std::pow(static_cast<double>(i + 1), -exponent);
    diagonal *= dim / diagonal.sum();  // trace normalised to d
    if (!diagonal.allFinite() || diagonal.minCoeff() <= 0.0)
      throw ConfigError(what + ": eigenvalues under- or overflow for d = " + std::to_string(dim));
    return diagonal.asDiagonal();
  }
  if (kind == "toeplitz" && colon != std::string_view::npos) {
    const double r = parse_finite_double(argument, what);
    if (!(std::abs(r) < 1.0))
      throw ConfigError(what + ": is not positive definite, expected |r| < 1");
    Eigen::MatrixXd matrix(dim, dim);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j) matrix(i, j) = std::pow(r, std::abs(i - j));
    return matrix;
  }
  if (kind == "rotated" && colon != std::string_view::npos) {
    if (argument == "random-exp")
      throw ConfigError(what + ": random-exp cannot be rotated (it is redrawn per prompt)");
    return rotate(argument, full, dim, seed);
  }
  throw ConfigError(what + ": unknown covariance, expected one of " + std::string(valid_specs));
}

}  // namespace

Covariance Covariance::parse(std::string_view spec, int dim, std::uint64_t seed) {
  if (dim < 1) throw ConfigError(quoted(spec) + ": dimension d = " + std::to_string(dim) + " < 1");
  // rotated: recurses once per level; bound it before recursing (10^4 levels overflow the stack).
  int rotations = 0;
  for (std::string_view rest = spec; rest.substr(0, 8) == "rotated:"; rest.remove_prefix(8))
    ++rotations;
  if (rotations > max_rotations)
    throw ConfigError(quoted(spec) + ": nests rotated: " + std::to_string(rotations) +
                      " levels deep, expected at most " + std::to_string(max_rotations));
  Covariance covariance;
  covariance.spec_ = std::string(spec);
  if (spec == "random-exp") {
    covariance.random_ = true;
    covariance.set_from_matrix(Eigen::MatrixXd::Identity(dim, dim));
    return covariance;
  }
  covariance.set_from_matrix(parse_fixed_matrix(spec, spec, dim, seed));
  if (!(covariance.eigenvalues_.minCoeff() > 0.0))
    throw ConfigError(quoted(spec) + ": is not positive definite (smallest eigenvalue " +
                      std::to_string(covariance.eigenvalues_.minCoeff()) + ")");
  return covariance;
}

Covariance Covariance::from_matrix(const Eigen::MatrixXd& matrix, std::string name) {
  Covariance covariance;
  covariance.spec_ = std::move(name);
  covariance.set_from_matrix(matrix);
  if (!(covariance.eigenvalues_.minCoeff() > 0.0))
    throw ConfigError(quoted(covariance.spec_) + ": is not positive definite");
  return covariance;
}

void Covariance::set_from_matrix(const Eigen::MatrixXd& matrix) {
  matrix_ = matrix;
  const int dim = static_cast<int>(matrix.rows());
  diagonal_ = matrix.isDiagonal(0.0);
  if (diagonal_) {
    // Keep the coordinate order: eigenvector i is e_i, so sampling is a row scaling.
    eigenvalues_ = matrix.diagonal();
    eigenvectors_ = Eigen::MatrixXd::Identity(dim, dim);
  } else {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(matrix);
    if (solver.info() != Eigen::Success)
      throw NumericalError(quoted(spec_) + ": eigendecomposition failed");
    eigenvalues_ = solver.eigenvalues();
    eigenvectors_ = solver.eigenvectors();
  }
  factor_ = eigenvectors_ * eigenvalues_.cwiseMax(0.0).cwiseSqrt().asDiagonal();
}

Covariance Covariance::scaled(double c) const {
  Covariance result = *this;
  result.matrix_ *= c * c;
  result.eigenvalues_ *= c * c;
  result.factor_ *= std::abs(c);
  result.random_scale_ *= c * c;
  return result;
}

void Covariance::draw_random_diagonal(RandomStream& random, Eigen::VectorXd& diagonal) const {
  diagonal.resize(dim());
  for (int i = 0; i < dim(); ++i) diagonal(i) = random_scale_ * random.exponential();
}

void Covariance::transform(Eigen::Ref<Eigen::MatrixXd> standard_normals,
                           const Eigen::VectorXd& random_diagonal) const {
  if (random_) {
    standard_normals = random_diagonal.cwiseSqrt().asDiagonal() * standard_normals;
  } else if (diagonal_) {
    standard_normals = factor_.diagonal().asDiagonal() * standard_normals;
  } else {
    standard_normals = (factor_ * standard_normals).eval();
  }
}

}  // namespace icl
