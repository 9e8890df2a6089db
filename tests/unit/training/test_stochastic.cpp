#define BOOST_TEST_MODULE training_stochastic
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "test_support.hpp"
#include "training/stochastic.hpp"

#include <omp.h>

using namespace icl;

namespace {
// ½(ŷ − y)² with ŷ from the literal full forward pass f(E; θ).
double full_pass_loss(const Prompt& prompt, const LsaParameters& parameters) {
  const double error = lsa_predict_full(prompt, parameters) - prompt.query_label;
  return 0.5 * error * error;
}
}  // namespace

BOOST_AUTO_TEST_CASE(gradient_matches_finite_differences_of_the_full_forward_pass) {
  // Every one of the 2(d+1)² entries, dense random θ, anisotropic prompt. Central differences with
  // step 1e-5 have truncation error ~1e-10 relative here; the bound is 1e-6 relative.
  const auto covariance = Covariance::parse("rotated:diag:3,1,0.5", 3, 2);
  Prompt prompt;
  PromptSampler(covariance, 6, 0.0).sample(1, 2, 3, prompt);
  const LsaParameters parameters = testing::random_lsa_parameters(3, 0.5);

  LsaParameters gradient = LsaParameters::zero(3);
  const double loss = accumulate_prompt_gradient(prompt, parameters, gradient);
  BOOST_TEST(testing::relative_difference(loss, full_pass_loss(prompt, parameters)) < 1e-12);

  const double h = 1e-5;
  for (int which = 0; which < 2; ++which)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        LsaParameters plus = parameters, minus = parameters;
        (which ? plus.key_query : plus.value_projection)(i, j) += h;
        (which ? minus.key_query : minus.value_projection)(i, j) -= h;
        const double numeric =
            (full_pass_loss(prompt, plus) - full_pass_loss(prompt, minus)) / (2 * h);
        const double analytic = (which ? gradient.key_query : gradient.value_projection)(i, j);
        BOOST_TEST(std::abs(numeric - analytic) <= 1e-6 * std::max(1.0, std::abs(numeric)),
                   (which ? "W_KQ(" : "W_PV(")
                       << i << "," << j << ") numeric " << numeric << " analytic " << analytic);
      }
}

BOOST_AUTO_TEST_CASE(result_does_not_depend_on_the_thread_count) {
  const auto covariance = Covariance::parse("toeplitz:0.5", 4, 1);
  StochasticOptions options;
  options.steps = 30;
  options.batch = 100;  // not a multiple of the chunk size
  options.init = Initialisation::dense;
  options.learning_rate = 1e-2;
  omp_set_num_threads(1);
  const auto one = train_stochastic(covariance, 8, options, 3, 4);
  omp_set_num_threads(2);
  const auto two = train_stochastic(covariance, 8, options, 3, 4);
  BOOST_CHECK(one.parameters.key_query == two.parameters.key_query);  // bit-identical
  BOOST_CHECK(one.parameters.value_projection == two.parameters.value_projection);
  BOOST_TEST(one.curve.back().loss == two.curve.back().loss);
}

BOOST_AUTO_TEST_CASE(sgd_lowers_the_loss) {
  const auto covariance = Covariance::parse("diag:2,1,0.5", 3, 1);
  StochasticOptions options;
  options.optimiser = Optimiser::sgd;
  options.steps = 400;
  options.batch = 64;
  options.learning_rate = 0.01;
  options.record_every = 100;
  const auto result = train_stochastic(covariance, 10, options, 1, 2);
  BOOST_TEST(result.curve.size() == 4u);
  BOOST_TEST(result.curve.back().loss < 0.7 * result.curve.front().loss);
  BOOST_TEST(result.curve.back().distance < result.curve.front().distance);
}

BOOST_AUTO_TEST_CASE(divergence_is_a_numerical_error_naming_the_step) {
  const auto covariance = Covariance::parse("identity", 5, 1);
  StochasticOptions options;
  options.optimiser = Optimiser::sgd;
  options.init = Initialisation::dense;
  options.sigma = 1.0;
  options.learning_rate = 50.0;
  options.steps = 200;
  options.batch = 16;
  try {
    train_stochastic(covariance, 10, options, 1, 2);
    BOOST_FAIL("no divergence detected");
  } catch (const NumericalError& e) {
    const std::string message = e.what();
    BOOST_TEST(message.find("diverged at step") != std::string::npos, message);
    BOOST_TEST(message.find("last finite loss") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_CASE(counter_overflow_is_refused) {
  StochasticOptions options;
  options.steps = 100000;
  options.batch = 100000;
  BOOST_CHECK_THROW(train_stochastic(Covariance::parse("identity", 2, 1), 4, options, 1, 1),
                    ConfigError);
}
