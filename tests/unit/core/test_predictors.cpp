#define BOOST_TEST_MODULE core_predictors
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "core/predictors.hpp"
#include "test_support.hpp"

using namespace icl;

namespace {
struct Fixture {
  Covariance covariance = Covariance::parse(testing::reference_diag, 5, 1);
  Prompt prompt;
  PromptMoments moments;
  void draw(int length, double noise, std::uint32_t index = 0) {
    PromptSampler(covariance, length, noise).sample(3, 4, index, prompt);
    compute_moments(prompt, moments);
  }
  double predict(const PointModel& model, std::string_view name) {
    return model.make(name)->predict(prompt, moments);
  }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(linear_predictors_apply_their_preconditioners, Fixture) {
  draw(7, 0.0);
  const PointModel model(covariance, 10, covariance, 7, 0.0);
  const Eigen::MatrixXd gamma_n = theory::gamma(covariance.matrix(), 10);
  const Eigen::MatrixXd gamma_m = theory::gamma(covariance.matrix(), 7);
  const Eigen::VectorXd& h = moments.label_weighted_mean;
  BOOST_TEST(testing::relative_difference(predict(model, "lsa-theory"),
                                          h.dot(gamma_n.inverse() * prompt.query)) < 1e-12);
  BOOST_TEST(testing::relative_difference(predict(model, "best-lsa"),
                                          h.dot(gamma_m.inverse() * prompt.query)) < 1e-12);
  BOOST_TEST(testing::relative_difference(predict(model, "gd1"), h.dot(prompt.query)) < 1e-14);
  BOOST_TEST(testing::relative_difference(predict(model, "gd1-opt"),
                                          model.gd1_optimal_step() * h.dot(prompt.query)) < 1e-14);
  BOOST_TEST(predict(model, "zero") == 0.0);
  // h = (1/M) Σ y_i x_i by hand.
  Eigen::VectorXd by_hand = Eigen::VectorXd::Zero(5);
  for (int i = 0; i < 7; ++i) by_hand += prompt.labels(i) * prompt.inputs.col(i);
  BOOST_TEST(testing::relative_difference(h, by_hand / 7.0) < 1e-14);
}

BOOST_FIXTURE_TEST_CASE(trained_lsa_uses_its_parameters, Fixture) {
  draw(9, 0.0);
  const auto parameters = theory::optimal_parameters(covariance.matrix(), 10);
  const PointModel model(covariance, 10, covariance, 9, 0.0, parameters);
  BOOST_TEST(testing::relative_difference(predict(model, "lsa"), predict(model, "lsa-theory")) <
             1e-12);
  const PointModel untrained(covariance, 10, covariance, 9, 0.0);
  BOOST_CHECK_THROW(untrained.make("lsa"), ConfigError);
}

BOOST_FIXTURE_TEST_CASE(ols_interpolates_and_is_minimum_norm_below_d, Fixture) {
  // M = 3 < d = 5: the min-norm solution lies in the row space of X and fits the labels exactly;
  // it is X (XᵀX)^{-1} y with X the d x M input matrix.
  draw(3, 0.0);
  const PointModel model(covariance, 10, covariance, 3, 0.0);
  const Eigen::MatrixXd& x = prompt.inputs;
  const Eigen::VectorXd min_norm = x * (x.transpose() * x).inverse() * prompt.labels;
  BOOST_TEST(testing::relative_difference(predict(model, "ols"), min_norm.dot(prompt.query)) <
             1e-10);
  // M = 8 ≥ d, noise-free: OLS recovers w.
  draw(8, 0.0);
  const PointModel enough(covariance, 10, covariance, 8, 0.0);
  BOOST_TEST(testing::relative_difference(predict(enough, "ols"), prompt.query_label) < 1e-10);
}

BOOST_FIXTURE_TEST_CASE(ridge_solves_the_penalised_normal_equations, Fixture) {
  draw(6, 0.8);
  const PointModel model(covariance, 10, covariance, 6, 0.8);
  BOOST_TEST(model.ridge_penalty() == 0.8 * 0.8);
  const Eigen::MatrixXd& x = prompt.inputs;
  const Eigen::MatrixXd normal = x * x.transpose() + 0.64 * Eigen::MatrixXd::Identity(5, 5);
  const Eigen::VectorXd weights = normal.inverse() * (x * prompt.labels);
  BOOST_TEST(testing::relative_difference(predict(model, "ridge"), weights.dot(prompt.query)) <
             1e-10);
}

BOOST_AUTO_TEST_CASE(knn3_averages_the_three_nearest_labels) {
  Prompt prompt;
  prompt.inputs.resize(1, 5);
  prompt.inputs << 0.0, 10.0, 1.1, -0.9, 5.0;
  prompt.labels.resize(5);
  prompt.labels << 1.0, 100.0, 2.0, 3.0, 50.0;
  prompt.query = Eigen::VectorXd::Constant(1, 0.1);
  PromptMoments moments;
  compute_moments(prompt, moments);
  const auto covariance = Covariance::parse("identity", 1, 1);
  const PointModel model(covariance, 5, covariance, 5, 0.0);
  BOOST_TEST(model.make("knn3")->predict(prompt, moments) == 2.0);
  // Fewer than three examples: all of them.
  prompt.inputs.conservativeResize(1, 2);
  prompt.labels.conservativeResize(2);
  BOOST_TEST(model.make("knn3")->predict(prompt, moments) == 50.5);
}

BOOST_AUTO_TEST_CASE(unknown_predictor_lists_the_valid_ones) {
  try {
    check_predictor_name("lasso", "[evaluation] predictors");
    BOOST_FAIL("no error");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    BOOST_TEST(message.find("'lasso'") != std::string::npos);
    BOOST_TEST(message.find("[evaluation] predictors") != std::string::npos);
    BOOST_TEST(message.find("gd1-opt") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(theory_exists_where_a_closed_form_does) {
  const auto diag = Covariance::parse(testing::reference_diag, 5, 1);
  const PointModel short_prompt(diag, 10, diag, 3, 0.0);
  BOOST_TEST(std::abs(*short_prompt.theory("lsa-theory") - 5.9362) < 5e-5);
  BOOST_TEST(!short_prompt.theory("ols").has_value());  // anisotropic and M < d
  BOOST_TEST(!short_prompt.theory("knn3").has_value());
  BOOST_TEST(*short_prompt.theory("zero") == diag.matrix().trace());
  const PointModel noisy(diag, 10, diag, 30, 0.5);
  BOOST_TEST(!noisy.theory("ridge").has_value());
  BOOST_TEST(noisy.theory("ols").has_value());
  const auto random = Covariance::parse("random-exp", 20, 1);
  const PointModel random_point(random, 40, random, 40, 0.0);
  BOOST_TEST(std::abs(*random_point.theory("lsa-theory") - 8.9655) < 5e-5);
}

BOOST_AUTO_TEST_CASE(the_registry_lists_every_predictor_once_in_report_order) {
  const std::vector<std::string_view> expected = {"lsa",      "lsa-theory", "ols",  "ridge",
                                                  "gd1",      "gd1-opt",    "gd-L", "pgd-L",
                                                  "best-lsa", "zero",       "knn3"};
  const auto known = known_predictors();
  BOOST_TEST(std::vector<std::string_view>(known.begin(), known.end()) == expected,
             boost::test_tools::per_element());
  // Which names are linear forms (the sufficient sampler's condition), by the same table.
  for (auto name : known) {
    const bool fixed_in_name = name != "knn3" && name != "gd-L" && name != "pgd-L";
    BOOST_TEST(has_linear_form(name, true) == fixed_in_name, name);
    BOOST_TEST(has_linear_form(name, false) == (fixed_in_name && name != "lsa"), name);
  }
}

BOOST_FIXTURE_TEST_CASE(every_registered_predictor_builds_and_an_unknown_one_is_an_error, Fixture) {
  const PointModel model(covariance, 10, covariance, 20, 0.3,
                         LsaParameters::zero(covariance.dim()));
  draw(20, 0.3);
  for (auto name : known_predictors()) BOOST_TEST(std::isfinite(predict(model, name)), name);
  // Negative controls: a name outside the registry never falls back to some predictor.
  BOOST_CHECK_THROW(model.make("lasso"), ConfigError);
  BOOST_CHECK_THROW(model.theory("lasso"), ConfigError);
  BOOST_CHECK_THROW(has_linear_form("lasso", true), ConfigError);
}

BOOST_FIXTURE_TEST_CASE(gradient_steps_are_tuned_on_the_training_law_not_the_test_point, Fixture) {
  // Two test points of one training setting (different M, one with a scaled test covariance) get
  // the same step: pgd-L predicts the same on the same prompt.
  draw(12, 0.0);
  const Covariance scaled = covariance.scaled(4.0);
  auto pgd = [&](const Covariance& test, int length, int train_length,
                 const Covariance* tuning = nullptr) {
    PointModel model(covariance, train_length, test, length, 0.0);
    model.use_deep_model(2);
    model.set_step_tuning(PromptLaw(tuning ? *tuning : covariance), 3, 77);
    return predict(model, "pgd-L");
  };
  const double at_12 = pgd(covariance, 12, 10);
  BOOST_TEST(pgd(covariance, 40, 10) == at_12);
  BOOST_TEST(pgd(scaled, 12, 10) == at_12);
  // Negative control: another training law (the scaled one) tunes another step.
  BOOST_TEST(pgd(covariance, 12, 10, &scaled) != at_12);
}
