#define BOOST_TEST_MODULE statistical_deep_training
#include <boost/test/unit_test.hpp>

#include "core/predictors.hpp"
#include "core/theory.hpp"
#include "evaluation/monte_carlo.hpp"
#include "training/deep_training.hpp"

#include <omp.h>
#include <Eigen/LU>

#include <chrono>
#include <cmath>

/// lsa-1 (the one-layer member of the deep family) trained by Adam reaches the risk of the
/// gradient-flow solution (Theorem 4.1's global minimum, whose risk is Theorem 4.2's closed form),
/// within the Monte Carlo error of the comparison; and training does not depend on the thread
/// count.

using namespace icl;

namespace {

DeepTrainingOptions options() {
  DeepTrainingOptions o;
  o.steps = 3000;
  o.batch = 256;
  o.learning_rate = 0.01;
  o.decay_every = 750;
  o.decay_factor = 0.3;
  o.sigma = 0.05;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(adam_trained_one_layer_reaches_the_flow_risk) {
  const auto covariance = Covariance::parse("diag:2,1,0.5", 3, 1);
  const int train_length = 20, test_length = 20;
  const auto start = std::chrono::steady_clock::now();
  const auto trained =
      train_deep_lsa(PromptLaw(covariance), train_length, 1, options(), 3, stable_hash("lsa-1"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("trained in " << seconds << " s; loss " << trained.losses.front() << " -> "
                                   << trained.losses.back() << " (L_* = "
                                   << theory::minimal_loss(covariance.matrix(), train_length)
                                   << ")");
  // The effective preconditioner −u U (the sign of ŷ = −[Z]) against Γ⁻¹.
  const auto& layer = trained.parameters.layers[0];
  const Eigen::MatrixXd effective =
      -layer.value_projection(3, 3) * layer.key_query.topLeftCorner(3, 3);
  const Eigen::MatrixXd target = theory::gamma(covariance.matrix(), train_length).inverse();
  BOOST_TEST_MESSAGE("relative distance to Γ⁻¹: " << (effective - target).norm() / target.norm());

  PointModel model(covariance, train_length, covariance, test_length, 0.0);
  // The engine's own predictor for an lsa-L point (its `lsa`), and the Γ⁻¹ predictor.
  const auto theory_predictor = model.make("lsa-theory");
  model.use_deep_model(1, trained.parameters);
  const auto deep = model.make("lsa");
  const Predictor* predictors[] = {deep.get(), theory_predictor.get()};
  const auto statistics = estimate_risks(PromptSampler(covariance, test_length, 0.0), predictors,
                                         {5, stable_hash("lsa-1 risk"), 60000, 256});
  const double closed_form = *model.theory("lsa-theory");
  // The two predictors see the same prompts: compare the trained model with the closed form,
  // allowing 4 standard errors of the trained model's estimate.
  const double z = (statistics[0].mean - closed_form) / statistics[0].standard_error();
  BOOST_TEST_MESSAGE("risk: trained lsa-1 " << statistics[0].mean << " ± "
                                            << statistics[0].standard_error() << ", Γ⁻¹ predictor "
                                            << statistics[1].mean << ", closed form " << closed_form
                                            << ", z " << z);
  BOOST_TEST(std::abs(z) < 4.0);
}

BOOST_AUTO_TEST_CASE(training_does_not_depend_on_the_thread_count) {
  auto short_options = options();
  short_options.steps = 40;
  const auto covariance = Covariance::parse("toeplitz:0.5", 3, 1);
  omp_set_num_threads(1);
  const auto one = train_deep_lsa(PromptLaw(covariance), 10, 2, short_options, 1, 99);
  omp_set_num_threads(2);
  const auto two = train_deep_lsa(PromptLaw(covariance), 10, 2, short_options, 1, 99);
  for (int l = 0; l < 2; ++l) {
    BOOST_TEST(
        (one.parameters.layers[l].value_projection == two.parameters.layers[l].value_projection));
    BOOST_TEST((one.parameters.layers[l].key_query == two.parameters.layers[l].key_query));
  }
}
