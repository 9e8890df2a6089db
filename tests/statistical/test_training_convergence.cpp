#define BOOST_TEST_MODULE statistical_training
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"
#include "core/theory.hpp"
#include "training/stochastic.hpp"

#include <omp.h>

#include <chrono>
#include <cstdlib>

// Stochastic training of all 2(d+1)² parameters reaches the Theorem 4.1 predictor. Fixed seeds.

using namespace icl;

namespace {
StochasticOptions adam_options(std::uint32_t steps) {
  StochasticOptions options;
  options.optimiser = Optimiser::adam;
  options.steps = steps;
  options.batch = 512;
  options.learning_rate = 0.01;
  options.decay_every = steps / 4;
  options.decay_factor = 0.3;
  options.record_every = steps / 10;
  return options;
}

void print_curve(const char* label, const StochasticResult& result) {
  for (const auto& row : result.curve)
    BOOST_TEST_MESSAGE(label << " step " << row.step << " loss " << row.loss << " distance "
                             << row.distance << " |p| " << row.p_norm << " |q| " << row.q_norm);
}
}  // namespace

BOOST_AUTO_TEST_CASE(adam_reaches_gamma_inverse_on_identity) {
  // Issue: relative distance of uU + pqᵀ to Γ^{-1} ≤ 3% within about 20 s on one core.
  omp_set_num_threads(1);
  const auto start = std::chrono::steady_clock::now();
  const auto result = train_stochastic(Covariance::parse("identity", 5, 1), 20, adam_options(2000),
                                       11, stable_hash("adam-identity"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_curve("identity", result);
  BOOST_TEST_MESSAGE("identity: " << seconds << " s on one thread");
  BOOST_TEST(result.curve.back().distance <= 0.03);
}

BOOST_AUTO_TEST_CASE(adam_on_toeplitz_is_slow_but_heads_to_the_same_limit) {
  // toeplitz:0.8 (condition number ≈ 9 at d = 5): the limit is the same Γ^{-1}, but stochastic
  // training is slow along the small-eigenvalue directions. The curve is printed (and shown in the
  // README). The loss gets close to L_* long before the parameters do: the flat directions are
  // those that barely change the loss. Asserted: the distance falls, and the mean minibatch loss
  // over the last five records is within 15% of L_* and its gap to L_* has shrunk five-fold
  // (measured: 0.5059 against L_* = 0.4598 after 2000 steps).
  const auto covariance = Covariance::parse("toeplitz:0.8", 5, 1);
  const auto result =
      train_stochastic(covariance, 20, adam_options(2000), 11, stable_hash("adam-toeplitz"));
  print_curve("toeplitz:0.8", result);
  const double minimal = theory::minimal_loss(covariance.matrix(), 20);
  BOOST_TEST_MESSAGE("toeplitz:0.8 L_* = " << minimal);
  BOOST_TEST(result.curve.back().distance < result.curve.front().distance);
  // The recorded loss is a minibatch loss (noisy): average the last five records.
  const std::size_t records = result.curve.size(), last = std::min<std::size_t>(5, records);
  double recent = 0;
  for (std::size_t i = records - last; i < records; ++i) recent += result.curve[i].loss / last;
  BOOST_TEST_MESSAGE("toeplitz:0.8 mean loss of the last " << last << " records: " << recent);
  // Measured: the gap to L_* falls from 0.37 at step 200 to 0.046 (a factor 8); the loss ends
  // within 10-11% of L_* depending on the minibatches drawn.
  BOOST_TEST(recent - minimal < 0.2 * (result.curve.front().loss - minimal));
  BOOST_TEST(recent < 1.15 * minimal);
}
