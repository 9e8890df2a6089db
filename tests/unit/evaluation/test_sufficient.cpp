#define BOOST_TEST_MODULE evaluation_sufficient
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "evaluation/sufficient.hpp"

#include <Eigen/Cholesky>

#include <cmath>

using namespace icl;

namespace {

/// A hand-made draw: S is given, Σ_q is the law's.
SufficientDraw draw_with(const Eigen::MatrixXd& s) {
  SufficientDraw draw;
  draw.second_moment = s;
  draw.scaled_inputs = s.llt().matrixL();
  return draw;
}

const Eigen::MatrixXd anisotropic_s = (Eigen::MatrixXd(3, 3) << 2.0, 0.3, -0.1,  //
                                       0.3, 1.0, 0.2,                            //
                                       -0.1, 0.2, 0.5)
                                          .finished();

}  // namespace

BOOST_AUTO_TEST_CASE(one_dimension_by_hand) {
  // d = 1: r = a² m σ_q² (v s − 1)² + (σ²/M) v² σ_q² s + σ².
  PromptLaw law(Covariance::parse("diag:2.5", 1, 1), 0.5);
  law.task_scale = 1.5;
  law.query_scale = 2.0;  // σ_q² = 4 · 2.5 = 10
  const SufficientSampler sampler(law, 4);
  const SufficientDraw draw = draw_with(Eigen::MatrixXd::Constant(1, 1, 3.0));
  const LinearForm form{LinearForm::Kind::fixed, Eigen::MatrixXd::Constant(1, 1, 0.2), 0.0};
  const double expected =
      2.25 * 10.0 * std::pow(0.2 * 3.0 - 1.0, 2) + 0.25 / 4.0 * 0.04 * 10.0 * 3.0 + 0.25;
  BOOST_TEST(sampler.conditional_risk(form, draw) == expected, boost::test_tools::tolerance(1e-14));
  // ols: V = 1/s, so only the noise terms remain: (σ²/M) σ_q²/s + σ².
  const LinearForm ols{LinearForm::Kind::least_squares, {}, 0.0};
  BOOST_TEST(sampler.conditional_risk(ols, draw) == 0.25 / 4.0 * 10.0 / 3.0 + 0.25,
             boost::test_tools::tolerance(1e-14));
  // ridge with λ: V = 1/(s + λ/M).
  const LinearForm ridge{LinearForm::Kind::least_squares, {}, 0.8};
  const double v = 1.0 / (3.0 + 0.2);
  BOOST_TEST(sampler.conditional_risk(ridge, draw) ==
                 2.25 * 10.0 * std::pow(v * 3.0 - 1.0, 2) + 0.25 / 4.0 * v * v * 10.0 * 3.0 + 0.25,
             boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(matrix_form_against_the_definition) {
  // A non-diagonal Σ_q (toeplitz) and a non-symmetric V: the trace formula evaluated directly.
  PromptLaw law(Covariance::parse("toeplitz:0.5", 3, 1), 0.3);
  const SufficientSampler sampler(law, 7);
  const Eigen::MatrixXd v =
      (Eigen::MatrixXd(3, 3) << 0.9, 0.1, 0.0, -0.2, 1.1, 0.3, 0.05, 0.0, 1.4).finished();
  const Eigen::MatrixXd sigma = law.inputs.matrix();
  const Eigen::MatrixXd t = v.transpose() * anisotropic_s - Eigen::MatrixXd::Identity(3, 3);
  const double expected = (t.transpose() * sigma * t).trace() +
                          0.09 / 7.0 * (v * sigma * v.transpose() * anisotropic_s).trace() + 0.09;
  const LinearForm form{LinearForm::Kind::fixed, v, 0.0};
  BOOST_TEST(sampler.conditional_risk(form, draw_with(anisotropic_s)) == expected,
             boost::test_tools::tolerance(1e-13));
  // The zero predictor: tr Σ_q + σ², whatever S.
  const LinearForm zero{LinearForm::Kind::fixed, Eigen::MatrixXd::Zero(3, 3), 0.0};
  BOOST_TEST(sampler.conditional_risk(zero, draw_with(anisotropic_s)) == sigma.trace() + 0.09,
             boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(least_squares_with_fewer_examples_than_dimensions) {
  // M = 1 < d = 3: S = x xᵀ has rank one; ols predicts with the projection onto x, and its
  // noise-free conditional risk is tr((I − Π) Σ_q (I − Π)).
  PromptLaw law(Covariance::parse("diag:3,1,0.5", 3, 1));
  const SufficientSampler sampler(law, 1);
  const Eigen::Vector3d x(1.0, -2.0, 0.5);
  SufficientDraw draw;
  draw.scaled_inputs = x;
  draw.second_moment = x * x.transpose();
  const Eigen::MatrixXd residual =
      Eigen::MatrixXd::Identity(3, 3) - x * x.transpose() / x.squaredNorm();
  const double expected = (residual * law.inputs.matrix() * residual).trace();
  const LinearForm ols{LinearForm::Kind::least_squares, {}, 0.0};
  BOOST_TEST(sampler.conditional_risk(ols, draw) == expected, boost::test_tools::tolerance(1e-12));
  // And the preconditioner is the pseudo-inverse: V S x = x.
  const Eigen::MatrixXd pinv = sampler.preconditioner(ols, draw);
  BOOST_TEST((pinv * draw.second_moment * x - x).norm() < 1e-12);
}

BOOST_AUTO_TEST_CASE(obstacles_are_named) {
  const auto covariance = Covariance::parse("identity", 4, 1);
  BOOST_TEST(sufficient_sampler_obstacle(PromptLaw(covariance)).empty());
  BOOST_TEST(sufficient_sampler_obstacle(
                 PromptLaw::shifted(covariance, Shift::parse("none"), 1, Task::parse("relu"))) ==
             "task 'relu' is not linear");
  BOOST_TEST(!sufficient_sampler_obstacle(
                  PromptLaw::shifted(covariance, Shift::parse("orthogonal-query"), 1))
                  .empty());
  BOOST_TEST(!sufficient_sampler_obstacle(
                  PromptLaw::shifted(covariance, Shift::parse("random-quadrants"), 1))
                  .empty());
  BOOST_CHECK_THROW(
      SufficientSampler(
          PromptLaw::shifted(covariance, Shift::parse("none"), 1, Task::parse("quadratic")), 5),
      ConfigError);
}

BOOST_AUTO_TEST_CASE(diagonal_fast_path_equals_the_matrix_form) {
  // LinearForm::fixed marks a diagonal V; with a diagonal Σ_q the risk is then an O(d) sum. It must
  // equal the general matrix evaluation (a LinearForm not marked diagonal), with label noise.
  PromptLaw law(Covariance::parse("diag:3,1,0.5", 3, 1), 0.7);
  law.task_scale = 1.3;
  const SufficientSampler sampler(law, 5);
  SufficientDraw draw;
  sampler.sample(3, 4, 5, draw);
  const Eigen::MatrixXd v = Eigen::Vector3d(0.4, 1.2, 2.0).asDiagonal();
  const LinearForm fast = LinearForm::fixed(v);
  const LinearForm general{LinearForm::Kind::fixed, v, 0.0, false};
  BOOST_TEST(fast.diagonal);
  BOOST_TEST(!LinearForm::fixed(anisotropic_s).diagonal);
  BOOST_TEST(sampler.conditional_risk(fast, draw) == sampler.conditional_risk(general, draw),
             boost::test_tools::tolerance(1e-13));
}
