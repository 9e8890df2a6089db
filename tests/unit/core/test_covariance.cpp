#define BOOST_TEST_MODULE core_covariance
#include <boost/test/unit_test.hpp>

#include "core/covariance.hpp"
#include "core/errors.hpp"
#include "core/prompt.hpp"
#include "test_support.hpp"

#include <Eigen/Eigenvalues>

using namespace icl;

namespace {
// The error message must name the spec: returns true when parse throws ConfigError mentioning it.
bool rejected_naming_spec(const std::string& spec, int dim) {
  try {
    Covariance::parse(spec, dim, 1);
  } catch (const ConfigError& e) {
    return std::string(e.what()).find("'" + spec + "'") != std::string::npos;
  }
  return false;
}
}  // namespace

BOOST_AUTO_TEST_CASE(identity_and_diag) {
  const auto identity = Covariance::parse("identity", 3, 1);
  BOOST_TEST(identity.matrix().isIdentity());
  BOOST_TEST(identity.is_diagonal());
  const auto diag = Covariance::parse(testing::reference_diag, 5, 1);
  BOOST_TEST(diag.matrix()(0, 0) == 4.0);
  BOOST_TEST(diag.matrix()(4, 4) == 0.1);
  BOOST_TEST(diag.matrix().trace() == 7.6);
  BOOST_TEST(diag.is_diagonal());
}

BOOST_AUTO_TEST_CASE(power_is_normalised_to_trace_d) {
  const auto power = Covariance::parse("power:1", 4, 1);
  BOOST_TEST(std::abs(power.matrix().trace() - 4.0) < 1e-12);
  // λ_i ∝ i^-1: λ_1 / λ_4 = 4.
  BOOST_TEST(std::abs(power.matrix()(0, 0) / power.matrix()(3, 3) - 4.0) < 1e-12);
}

BOOST_AUTO_TEST_CASE(toeplitz_entries) {
  const auto toeplitz = Covariance::parse("toeplitz:0.8", 4, 1);
  BOOST_TEST(std::abs(toeplitz.matrix()(0, 3) - 0.512) < 1e-15);
  BOOST_TEST(std::abs(toeplitz.matrix()(2, 1) - 0.8) < 1e-15);
  BOOST_TEST(!toeplitz.is_diagonal());
  // The eigendecomposition reproduces the matrix.
  const Eigen::MatrixXd rebuilt = toeplitz.eigenvectors() * toeplitz.eigenvalues().asDiagonal() *
                                  toeplitz.eigenvectors().transpose();
  BOOST_TEST(testing::relative_difference(rebuilt, toeplitz.matrix()) < 1e-13);
  BOOST_TEST(testing::relative_difference(toeplitz.factor() * toeplitz.factor().transpose(),
                                          toeplitz.matrix()) < 1e-13);
}

BOOST_AUTO_TEST_CASE(rotated_keeps_the_spectrum_and_depends_on_the_seed) {
  const auto rotated = Covariance::parse("rotated:diag:4,2,1", 3, 5);
  const Eigen::VectorXd eigenvalues =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(rotated.matrix()).eigenvalues();
  BOOST_TEST(std::abs(eigenvalues(0) - 1.0) < 1e-12);
  BOOST_TEST(std::abs(eigenvalues(2) - 4.0) < 1e-12);
  BOOST_TEST(!rotated.is_diagonal());
  BOOST_CHECK(rotated.matrix() == Covariance::parse("rotated:diag:4,2,1", 3, 5).matrix());
  BOOST_CHECK(rotated.matrix() != Covariance::parse("rotated:diag:4,2,1", 3, 6).matrix());
}

BOOST_AUTO_TEST_CASE(random_exp_is_random) {
  const auto random = Covariance::parse("random-exp", 3, 1);
  BOOST_TEST(random.is_random());
  BOOST_TEST(random.matrix().isIdentity());  // E Λ_τ = I
  BOOST_TEST(random.scaled(3.0).random_scale() == 9.0);
}

BOOST_AUTO_TEST_CASE(bad_specs_are_config_errors_naming_the_spec) {
  BOOST_TEST(rejected_naming_spec("diag:1,2", 3));    // wrong length
  BOOST_TEST(rejected_naming_spec("diag:1,0,2", 3));  // not positive definite
  BOOST_TEST(rejected_naming_spec("diag:1,-2,2", 3));
  BOOST_TEST(rejected_naming_spec("diag:1,x,2", 3));  // not a number
  BOOST_TEST(rejected_naming_spec("diag:1,nan,2", 3));
  BOOST_TEST(rejected_naming_spec("diag:1,inf,2", 3));
  BOOST_TEST(rejected_naming_spec("diag:1,,2", 3));
  BOOST_TEST(rejected_naming_spec("toeplitz:1", 3));  // |r| = 1 is singular
  BOOST_TEST(rejected_naming_spec("toeplitz:-1.5", 3));
  BOOST_TEST(rejected_naming_spec("power:", 3));
  BOOST_TEST(rejected_naming_spec("power:1e400", 3));
  BOOST_TEST(rejected_naming_spec("rotated:random-exp", 3));
  BOOST_TEST(rejected_naming_spec("rotated:diag:1,2", 3));
  BOOST_TEST(rejected_naming_spec("spherical", 3));
  BOOST_TEST(rejected_naming_spec("", 3));
  BOOST_TEST(rejected_naming_spec("identity", 0));
}

BOOST_AUTO_TEST_CASE(sampled_inputs_have_the_covariance) {
  // 10^5 prompts of length 4 from a rotated anisotropic law; each entry of the empirical covariance
  // has sd ≤ √(2·16/4·10^5) ≈ 0.009; the bound is about 5 sd.
  const auto covariance = Covariance::parse("rotated:diag:4,2,1,0.5", 4, 3);
  const PromptSampler sampler(covariance, 4, 0.0);
  Prompt prompt;
  Eigen::MatrixXd second_moment = Eigen::MatrixXd::Zero(4, 4);
  const int prompts = 100000;
  for (int k = 0; k < prompts; ++k) {
    sampler.sample(1, 99, k, prompt);
    second_moment += prompt.inputs * prompt.inputs.transpose();
  }
  second_moment /= 4.0 * prompts;
  BOOST_TEST((second_moment - covariance.matrix()).cwiseAbs().maxCoeff() < 0.05);
}
