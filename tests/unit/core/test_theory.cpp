#define BOOST_TEST_MODULE core_theory
#include <boost/test/unit_test.hpp>

#include "core/covariance.hpp"
#include "core/theory.hpp"
#include "test_support.hpp"

#include <cmath>

using namespace icl;
using namespace icl::theory;

namespace {
const Eigen::MatrixXd reference_lambda = Covariance::parse(testing::reference_diag, 5, 1).matrix();

double in_distribution_risk(const Eigen::MatrixXd& lambda, int n, int m) {
  const Eigen::MatrixXd v = gamma(lambda, n).inverse();
  return preconditioner_risk(v, GaussianTestLaw::in_distribution(lambda, m, 0.0));
}
}  // namespace

BOOST_AUTO_TEST_CASE(math_md_anisotropic_reference_values) {
  // docs/mathematics.md section 10 (4 significant digits there): Λ = diag(4,2,1,0.5,0.1), N = 10.
  const Eigen::VectorXd eigenvalues = reference_lambda.diagonal();
  BOOST_TEST(std::abs(theorem42_linear_risk(eigenvalues, 10, 3) - 5.9362) < 5e-5);
  BOOST_TEST(std::abs(theorem42_linear_risk(eigenvalues, 10, 50) - 1.1982) < 5e-5);
}

BOOST_AUTO_TEST_CASE(math_md_isotropic_table) {
  // docs/mathematics.md section 10: Λ = I_20, risk / d.
  const int n_values[] = {10, 40, 100};
  const int m_values[] = {5, 10, 20, 40, 100, 1000};
  const double table[3][6] = {{0.8959, 0.6774, 0.5682, 0.5135, 0.4807, 0.4611},
                              {1.9245, 1.0215, 0.5700, 0.3443, 0.2088, 0.1275},
                              {2.8988, 1.4644, 0.7473, 0.3887, 0.1736, 0.0445}};
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(20);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 6; ++j) {
      const double risk = theorem42_linear_risk(ones, n_values[i], m_values[j]) / 20;
      BOOST_TEST(std::abs(risk - table[i][j]) < 5e-5, "N=" << n_values[i] << " M=" << m_values[j]);
      // The closed form for Λ = I: ((d+1)/(N+d+1))² + (d+1)N²/(M(N+d+1)²).
      const double n = n_values[i], m = m_values[j];
      const double isotropic =
          std::pow(21.0 / (n + 21.0), 2) + 21.0 * n * n / (m * std::pow(n + 21.0, 2));
      BOOST_TEST(testing::relative_difference(risk, isotropic) < 1e-13);
    }
}

BOOST_AUTO_TEST_CASE(hand_worked_one_dimensional_value) {
  // d = 1, Λ = 2, N = M = 1: Γ = 2·2 + 2 = 6, ŷ = w x_1² x_q / 6, so
  // R = E w² E x_q² E(x_1²/6 − 1)² = 2 (12/36 − 4/6 + 1) = 4/3.
  const Eigen::MatrixXd lambda = Eigen::MatrixXd::Constant(1, 1, 2.0);
  BOOST_TEST(std::abs(gamma(lambda, 1)(0, 0) - 6.0) < 1e-15);
  BOOST_TEST(std::abs(in_distribution_risk(lambda, 1, 1) - 4.0 / 3.0) < 1e-14);
  BOOST_TEST(std::abs(theorem42_linear_risk(Eigen::VectorXd::Constant(1, 2.0), 1, 1) - 4.0 / 3.0) <
             1e-14);
}

BOOST_AUTO_TEST_CASE(hand_worked_gd1_value) {
  // d = 2, Λ = diag(1, 3), M = 4, η = 1:
  // R = (1+1/4)·28 + 4·10/4 − 2·10 + 4 = 35 + 10 − 20 + 4 = 29; the zero predictor: tr Λ = 4.
  Eigen::MatrixXd lambda = Eigen::Vector2d(1.0, 3.0).asDiagonal();
  const auto law = GaussianTestLaw::in_distribution(lambda, 4, 0.0);
  BOOST_TEST(std::abs(preconditioner_risk(Eigen::Matrix2d::Identity(), law) - 29.0) < 1e-13);
  BOOST_TEST(zero_risk(law) == 4.0);
  // η* = tr Λ² / [(1+1/M) tr Λ³ + tr Λ tr Λ²/M] = 10 / 45 and R(η*) = tr Λ − 10·η* = 4 − 100/45.
  BOOST_TEST(std::abs(gd1_optimal_step(law) - 10.0 / 45.0) < 1e-14);
  BOOST_TEST(
      std::abs(preconditioner_risk(gd1_optimal_step(law) * Eigen::Matrix2d::Identity(), law) -
               (4.0 - 100.0 / 45.0)) < 1e-13);
}

BOOST_AUTO_TEST_CASE(general_risk_equals_theorem42_for_anisotropic_and_rotated) {
  // The matrix formula of section 4 with V = Γ^{-1} and the per-eigenvalue Theorem 4.2 are computed
  // independently; they must agree to rounding for every covariance, including non-diagonal ones.
  for (const char* spec :
       {testing::reference_diag, "toeplitz:0.8", "rotated:diag:4,2,1,0.5,0.1", "power:2"}) {
    const auto covariance = Covariance::parse(spec, 5, 7);
    for (int n : {1, 10, 40})
      for (int m : {1, 3, 50, 640})
        BOOST_TEST(testing::relative_difference(
                       in_distribution_risk(covariance.matrix(), n, m),
                       theorem42_linear_risk(covariance.eigenvalues(), n, m)) < 1e-12,
                   spec << " N=" << n << " M=" << m);
  }
}

BOOST_AUTO_TEST_CASE(floor_is_the_large_m_limit) {
  const Eigen::VectorXd eigenvalues = reference_lambda.diagonal();
  const double floor = theorem42_linear_floor(eigenvalues, 10);
  // The 1/M term at M = 2^30 is about 1.4e-8.
  BOOST_TEST(std::abs(theorem42_linear_risk(eigenvalues, 10, 1 << 30) - floor) < 2e-8);
  // The floor is the squared bias: ‖(Γ^{-1}Λ − I) w‖²_Λ averaged over w.
  const Eigen::MatrixXd bias =
      gamma(reference_lambda, 10).inverse() * reference_lambda - Eigen::MatrixXd::Identity(5, 5);
  BOOST_TEST(testing::relative_difference((bias.transpose() * reference_lambda * bias).trace(),
                                          floor) < 1e-13);
}

BOOST_AUTO_TEST_CASE(optimal_parameters_match_theorem41) {
  const Eigen::MatrixXd lambda = Covariance::parse("toeplitz:0.5", 4, 1).matrix();
  const auto parameters = optimal_parameters(lambda, 7);
  const Eigen::MatrixXd gamma_inverse = gamma(lambda, 7).inverse();
  const double u = parameters.value_projection(4, 4);
  const Eigen::MatrixXd U = parameters.key_query.topLeftCorner(4, 4);
  BOOST_TEST(testing::relative_difference(u * U, gamma_inverse) < 1e-14);
  BOOST_TEST(std::abs(u * u - U.squaredNorm()) < 1e-13);  // balanced: u² = ‖U‖_F²
  BOOST_TEST(std::abs(u - std::pow(gamma_inverse.norm(), 0.5)) < 1e-14);
  // L_* is the reduced loss at the optimum, and any perturbation raises it.
  const double l_star = minimal_loss(lambda, 7);
  BOOST_TEST(std::abs(reduced_loss(U, u, lambda, 7) - l_star) < 1e-13);
  BOOST_TEST(reduced_loss(U * 1.01, u, lambda, 7) > l_star);
  // L = ½ R_N(Γ^{-1}) at the global minimum: the population loss is half the in-distribution risk.
  BOOST_TEST(std::abs(2.0 * l_star - in_distribution_risk(lambda, 7, 7)) < 1e-13);
}

BOOST_AUTO_TEST_CASE(best_preconditioner_is_gamma_m_inverse_and_minimal) {
  const Eigen::MatrixXd lambda = reference_lambda;
  const auto law = GaussianTestLaw::in_distribution(lambda, 8, 0.0);
  const Eigen::MatrixXd best = best_preconditioner(law);
  BOOST_TEST(testing::relative_difference(best, gamma(lambda, 8).inverse()) < 1e-14);
  // R = tr Λ − tr(Γ_M^{-1} Λ²) (docs/mathematics.md section 7).
  BOOST_TEST(testing::relative_difference(preconditioner_risk(best, law),
                                          lambda.trace() - (best * lambda * lambda).trace()) <
             1e-12);
  // With noise the optimum moves to (Γ_M + s²/M)^{-1}: small perturbations only raise the risk.
  const auto noisy = GaussianTestLaw::in_distribution(lambda, 8, 0.7);
  const Eigen::MatrixXd noisy_best = best_preconditioner(noisy);
  const double at_best = preconditioner_risk(noisy_best, noisy);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      Eigen::MatrixXd perturbed = noisy_best;
      perturbed(i, j) += 1e-3;
      BOOST_TEST(preconditioner_risk(perturbed, noisy) > at_best);
    }
}

BOOST_AUTO_TEST_CASE(isotropic_baselines) {
  // Λ = I_d: η* = M/(M+d+1), R = d(d+1)/(M+d+1); OLS (d − M) for M < d.
  const int d = 20, m = 13;
  const auto law = GaussianTestLaw::in_distribution(Eigen::MatrixXd::Identity(d, d), m, 0.0);
  BOOST_TEST(std::abs(gd1_optimal_step(law) - 13.0 / 34.0) < 1e-14);
  BOOST_TEST(std::abs(preconditioner_risk(best_preconditioner(law), law) - 420.0 / 34.0) < 1e-12);
  BOOST_TEST(*ols_risk(law) == 7.0);
  // With noise s² (docs/mathematics.md section 7), plus s² for the noisy target:
  // (d − M) + s² M/(d − M − 1) for M ≤ d − 2 and s² d/(M − d − 1) for M ≥ d + 2.
  const double s = 0.5;
  auto noisy = GaussianTestLaw::in_distribution(Eigen::MatrixXd::Identity(d, d), m, s);
  BOOST_TEST(std::abs(*ols_risk(noisy) - (7.0 + 0.25 * 13.0 / 6.0 + 0.25)) < 1e-13);
  noisy.length = 30;
  BOOST_TEST(std::abs(*ols_risk(noisy) - (0.25 * 20.0 / 9.0 + 0.25)) < 1e-13);
  noisy.length = 20;  // E‖(XᵀX)^{-1}‖ is infinite at M = d
  BOOST_TEST(!ols_risk(noisy).has_value());
  // Anisotropic M < d has no closed form.
  BOOST_TEST(!ols_risk(GaussianTestLaw::in_distribution(reference_lambda, 3, 0.0)).has_value());
  BOOST_TEST(*ols_risk(GaussianTestLaw::in_distribution(reference_lambda, 5, 0.0)) == 0.0);
}

BOOST_AUTO_TEST_CASE(general_theorem42_reduces_to_linear_case) {
  // For y = <w, x>: a = w, Σ = Λwwᵀ Λ + (wᵀΛw) Λ, best error 0. Both are linear in wwᵀ, so the
  // average over w ~ N(0, I) is the sum over w = e_k.
  const Eigen::MatrixXd lambda = Covariance::parse("rotated:diag:4,2,1,0.5,0.1", 5, 2).matrix();
  for (int m : {2, 17}) {
    double sum = 0.0;
    for (int k = 0; k < 5; ++k) {
      const Eigen::VectorXd w = Eigen::VectorXd::Unit(5, k);
      const Eigen::MatrixXd sigma =
          lambda * w * w.transpose() * lambda + w.dot(lambda * w) * lambda;
      sum += theorem42_risk(lambda, 12, m, w, sigma, 0.0);
    }
    BOOST_TEST(testing::relative_difference(sum, in_distribution_risk(lambda, 12, m)) < 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(random_covariance_values) {
  // docs/mathematics.md section 6: d = 20, N = 40: V_rdm = bI, b = 2/(6(1+2/N) + 2(d−1)/N) =
  // 0.27586.
  const Eigen::MatrixXd v = random_exp_preconditioner(20, 40);
  BOOST_TEST(v.isDiagonal());
  BOOST_TEST(std::abs(v(0, 0) - 0.27586) < 5e-6);
  BOOST_TEST(std::abs(v(7, 7) - 2.0 / (6.0 * 1.05 + 38.0 / 40.0)) < 1e-15);
  // R = d [6c³b²(1 + 2/M) + 2(d−1)c³b²/M − 4c²b + c], and 8.9655 at c = 1, M = 40.
  const double b = v(0, 0);
  for (double c : {1.0, 4.0, 9.0})
    for (int m : {1, 40, 500}) {
      const double expected = 20.0 * (6 * c * c * c * b * b * (1 + 2.0 / m) +
                                      38.0 * c * c * c * b * b / m - 4 * c * c * b + c);
      BOOST_TEST(testing::relative_difference(
                     preconditioner_risk(v, RandomExpTestLaw{20, c, 0.0, m}), expected) < 1e-12);
    }
  BOOST_TEST(std::abs(preconditioner_risk(v, RandomExpTestLaw{20, 1.0, 0.0, 40}) - 8.9655) < 5e-5);
  // Limits M, N → ∞ (b → 1/3): per-dimension error 1/3, 25.33, 387 at c = 1, 4, 9; 4/9 on identity.
  const Eigen::MatrixXd limit = random_exp_preconditioner(20, 1 << 30);
  BOOST_TEST(std::abs(limit(0, 0) - 1.0 / 3.0) < 1e-8);
  const int big = 1 << 30;
  BOOST_TEST(std::abs(preconditioner_risk(limit, RandomExpTestLaw{20, 1.0, 0.0, big}) / 20 -
                      1.0 / 3.0) < 1e-6);
  BOOST_TEST(std::abs(preconditioner_risk(limit, RandomExpTestLaw{20, 4.0, 0.0, big}) / 20 -
                      76.0 / 3.0) < 1e-5);
  BOOST_TEST(std::abs(preconditioner_risk(limit, RandomExpTestLaw{20, 9.0, 0.0, big}) / 20 -
                      387.0) < 1e-4);
  const auto identity_law =
      GaussianTestLaw::in_distribution(Eigen::MatrixXd::Identity(20, 20), big, 0.0);
  BOOST_TEST(std::abs(preconditioner_risk(limit, identity_law) / 20 - 4.0 / 9.0) < 1e-6);
}

BOOST_AUTO_TEST_CASE(random_covariance_best_preconditioner_is_v_rdm_at_m) {
  const RandomExpTestLaw law{6, 1.0, 0.0, 25};
  BOOST_TEST(testing::relative_difference(best_preconditioner(law),
                                          random_exp_preconditioner(6, 25)) < 1e-14);
  // It is the minimiser over diagonal and off-diagonal perturbations, also at another scale.
  const RandomExpTestLaw scaled{6, 4.0, 0.3, 25};
  const Eigen::MatrixXd best = best_preconditioner(scaled);
  const double at_best = preconditioner_risk(best, scaled);
  Eigen::MatrixXd perturbed = best;
  perturbed(2, 2) *= 1.001;
  BOOST_TEST(preconditioner_risk(perturbed, scaled) > at_best);
  perturbed = best;
  perturbed(1, 3) = 1e-3;
  BOOST_TEST(preconditioner_risk(perturbed, scaled) > at_best);
}
