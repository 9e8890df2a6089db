#define BOOST_TEST_MODULE core_shift
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "core/predictors.hpp"
#include "core/shift.hpp"
#include "test_support.hpp"

#include <Eigen/Eigenvalues>

using namespace icl;

BOOST_AUTO_TEST_CASE(parsing) {
  BOOST_CHECK(Shift::parse("none").kind == ShiftKind::none);
  BOOST_CHECK(Shift::parse("standard").kind == ShiftKind::none);
  BOOST_CHECK(Shift::parse("scale-y=3").kind == ShiftKind::task_scale);
  BOOST_TEST(Shift::parse("scale-y=3").value == 3.0);
  BOOST_TEST(Shift::parse("noisy").value == 1.0);
  BOOST_TEST(Shift::parse("noisy=0.25").value == 0.25);
  BOOST_TEST(Shift::parse("query-cov=diag:1,2").spec == "diag:1,2");
  BOOST_CHECK(Shift::parse("scale-x=2").family == ShiftFamily::covariate);
  BOOST_CHECK(Shift::parse("orthogonal-query").family == ShiftFamily::query);
  for (const char* bad : {"sideways", "scale-x=0", "scale-x=-1", "scale-x=abc", "noisy=-1",
                          "query-cov=", "skewed=2", "task-scale"}) {
    try {
      Shift::parse(bad);
      BOOST_FAIL("accepted " << bad);
    } catch (const ConfigError& e) {
      const std::string message = e.what();
      BOOST_TEST(message.find(std::string("'") + bad + "'") != std::string::npos, message);
    }
  }
  try {
    Shift::parse("sideways");
  } catch (const ConfigError& e) {  // the valid ones are listed
    BOOST_TEST(std::string(e.what()).find("random-quadrants") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(garg_transforms_keep_trace_d) {
  const auto covariance = Covariance::parse("identity", 6, 1);
  for (const char* name : {"skewed", "half-subspace"}) {
    const auto law = PromptLaw::shifted(covariance, Shift::parse(name), 9);
    const Eigen::MatrixXd shifted = law.transform * law.transform.transpose();
    BOOST_TEST(std::abs(shifted.trace() - 6.0) < 1e-12, name);
  }
  const auto half = PromptLaw::shifted(covariance, Shift::parse("half-subspace"), 9);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(half.transform);
  BOOST_TEST((solver.eigenvalues().array().abs() < 1e-12).count() == 3);  // rank d/2
  BOOST_CHECK_THROW(
      PromptLaw::shifted(Covariance::parse("random-exp", 4, 1), Shift::parse("skewed"), 1),
      ConfigError);
}

BOOST_AUTO_TEST_CASE(skewed_has_garg_spectrum) {
  // Garg et al. scale x by U diag(1/i) Uᵀ: for identity inputs the shifted covariance has
  // eigenvalues d (1/i²) / Σ_j 1/j², condition number d² (400 at d = 20). Known answer, every
  // eigenvalue; the negative control is the spectrum of 1/(i+1), condition number ((d+1)/2)².
  for (int d : {5, 20}) {
    const auto law =
        PromptLaw::shifted(Covariance::parse("identity", d, 1), Shift::parse("skewed"), 3);
    const Eigen::MatrixXd shifted = law.transform * law.transform.transpose();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(shifted);
    const Eigen::VectorXd found = solver.eigenvalues().reverse();  // descending
    double norm = 0;
    for (int i = 1; i <= d; ++i) norm += 1.0 / (i * i);
    for (int i = 1; i <= d; ++i)
      BOOST_TEST(std::abs(found(i - 1) - d / (norm * i * i)) < 1e-12 * d, "d=" << d << " i=" << i);
    BOOST_TEST(std::abs(found(0) / found(d - 1) - double(d) * d) < 1e-8 * d * d);
    BOOST_TEST(std::abs(found(0) / found(d - 1) - (d + 1.0) * (d + 1.0) / 4) > 1.0);
  }
  // Anisotropic inputs: the shifted covariance A Λ Aᵀ still has trace d.
  const auto covariance = Covariance::parse("diag:4,2,1,0.5,0.25", 5, 1);
  const auto law = PromptLaw::shifted(covariance, Shift::parse("skewed"), 3);
  const Eigen::MatrixXd shifted = law.transform * covariance.matrix() * law.transform.transpose();
  BOOST_TEST(std::abs(shifted.trace() - 5.0) < 1e-12);
}

BOOST_AUTO_TEST_CASE(orthogonal_query_is_orthogonal_and_lsa_predicts_zero) {
  // Λ ∝ I and M < d: Γ^{-1} ∝ I, h ∈ span(x_i) and x_q ⊥ span(x_i), so ŷ = hᵀ Γ^{-1} x_q = 0.
  const auto covariance = Covariance::parse("diag:2,2,2,2,2,2,2,2", 8, 1);
  const PromptLaw law = PromptLaw::shifted(covariance, Shift::parse("orthogonal-query"), 1);
  const PromptSampler sampler(law, 3);
  const PointModel model(covariance, 10, law, 3);
  const auto lsa = model.make("lsa-theory");
  Prompt prompt;
  PromptMoments moments;
  for (std::uint32_t k = 0; k < 50; ++k) {
    sampler.sample(2, 3, k, prompt);
    compute_moments(prompt, moments);
    BOOST_TEST((prompt.inputs.transpose() * prompt.query).norm() < 1e-12 * prompt.query.norm());
    BOOST_TEST(std::abs(lsa->predict(prompt, moments)) <
               1e-12 * prompt.query.norm() * moments.label_weighted_mean.norm() + 1e-300);
  }
}

BOOST_AUTO_TEST_CASE(overlapping_query_copies_a_prompt_input) {
  const auto covariance = Covariance::parse("toeplitz:0.3", 4, 1);
  const PromptSampler sampler(PromptLaw::shifted(covariance, Shift::parse("overlapping-query"), 1),
                              5);
  Prompt prompt;
  for (std::uint32_t k = 0; k < 20; ++k) {
    sampler.sample(2, 3, k, prompt);
    bool found = false;
    for (int i = 0; i < 5; ++i) found = found || prompt.inputs.col(i) == prompt.query;
    BOOST_TEST(found);
  }
}

BOOST_AUTO_TEST_CASE(random_quadrants_share_one_orthant) {
  const auto covariance = Covariance::parse("identity", 3, 1);
  const PromptSampler sampler(PromptLaw::shifted(covariance, Shift::parse("random-quadrants"), 1),
                              10);
  Prompt prompt;
  sampler.sample(2, 3, 4, prompt);
  for (int r = 0; r < 3; ++r) {
    const bool all_positive = (prompt.inputs.row(r).array() >= 0).all();
    const bool all_negative = (prompt.inputs.row(r).array() <= 0).all();
    BOOST_TEST((all_positive || all_negative));
  }
  BOOST_TEST(std::abs(prompt.labels(2) - prompt.task.dot(prompt.inputs.col(2))) < 1e-14);
}

BOOST_AUTO_TEST_CASE(shifts_without_closed_form_have_no_theory) {
  const auto covariance = Covariance::parse("identity", 4, 1);
  for (const char* name : {"random-quadrants", "orthogonal-query", "overlapping-query"}) {
    const PointModel model(covariance, 8, PromptLaw::shifted(covariance, Shift::parse(name), 1), 3);
    BOOST_TEST(!model.theory("lsa-theory").has_value(), name);
    BOOST_TEST(!model.theory("zero").has_value(), name);
  }
}

BOOST_AUTO_TEST_CASE(overlapping_query_makes_ols_exact_below_d) {
  // Garg: with the query a copy of a prompt input, least squares (which interpolates the prompt
  // when M < d) predicts its label exactly; without the shift its error is d − M = 4 (docs/
  // mathematics.md section 7).
  const auto covariance = Covariance::parse("identity", 8, 1);
  const auto shifted = PromptLaw::shifted(covariance, Shift::parse("overlapping-query"), 1);
  const PointModel model(covariance, 16, shifted, 4);
  const auto ols = model.make("ols");
  const PromptSampler overlapping(shifted, 4), plain(covariance, 4, 0.0);
  Prompt prompt;
  PromptMoments moments;
  double shifted_error = 0, plain_error = 0;
  for (std::uint32_t k = 0; k < 2000; ++k) {
    overlapping.sample(5, 6, k, prompt);
    compute_moments(prompt, moments);
    shifted_error += std::pow(ols->predict(prompt, moments) - prompt.query_label, 2);
    plain.sample(5, 6, k, prompt);
    compute_moments(prompt, moments);
    plain_error += std::pow(ols->predict(prompt, moments) - prompt.query_label, 2);
  }
  BOOST_TEST_MESSAGE("OLS error: overlapping " << shifted_error / 2000 << ", unshifted "
                                               << plain_error / 2000);
  BOOST_TEST(shifted_error / 2000 < 1e-20);
  BOOST_TEST(std::abs(plain_error / 2000 - 4.0) < 0.5);  // sd of the mean ≈ 0.13
}
