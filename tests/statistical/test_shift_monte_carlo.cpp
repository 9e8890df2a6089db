#define BOOST_TEST_MODULE statistical_shifts
#include <boost/test/unit_test.hpp>

#include "theory_check.hpp"

#include <cmath>
#include <string>
#include <vector>

// Every shift with a closed form, Monte Carlo against theory within 4 standard errors, on the
// anisotropic training covariance diag(4, 2, 1, 0.5, 0.1) (and random-exp where it applies).
// Fixed seed; on failure the estimate, its standard error, the theory and the seed are printed.

using namespace icl;

namespace {

constexpr std::uint64_t seed = 424242;

void check_shift(const std::string& covariance_spec, const std::string& shift_text,
                 int train_length, int test_length, std::uint32_t prompts = 150000) {
  const Covariance covariance = Covariance::parse(covariance_spec, 5, seed);
  const PromptLaw law = PromptLaw::shifted(covariance, Shift::parse(shift_text), seed);
  const std::string label = covariance_spec + " shift=" + shift_text +
                            " N=" + std::to_string(train_length) +
                            " M=" + std::to_string(test_length);
  const std::size_t compared = testing::check_against_theory(covariance, train_length, law,
                                                             test_length, label, seed, prompts);
  BOOST_TEST(compared >= 4u, shift_text << " has too few closed forms");
}

const char* diag = "diag:4,2,1,0.5,0.1";

}  // namespace

BOOST_AUTO_TEST_CASE(task_scale) {
  check_shift(diag, "task-scale=2", 10, 6);
}
BOOST_AUTO_TEST_CASE(scale_y) {
  check_shift(diag, "scale-y=0.5", 10, 20);
}
BOOST_AUTO_TEST_CASE(noisy) {
  check_shift(diag, "noisy=0.7", 10, 12);
}
BOOST_AUTO_TEST_CASE(query_scale) {
  check_shift(diag, "query-scale=2", 10, 8);
}
BOOST_AUTO_TEST_CASE(query_cov) {
  check_shift(diag, "query-cov=toeplitz:0.6", 10, 8);
}
BOOST_AUTO_TEST_CASE(scale_x) {
  check_shift(diag, "scale-x=1.5", 10, 30);
}
BOOST_AUTO_TEST_CASE(test_cov) {
  check_shift(diag, "test-cov=rotated:power:1", 10, 15);
}
BOOST_AUTO_TEST_CASE(skewed) {
  check_shift(diag, "skewed", 20, 10);
}
BOOST_AUTO_TEST_CASE(half_subspace) {
  check_shift(diag, "half-subspace", 20, 4);
}
BOOST_AUTO_TEST_CASE(random_cov_scale_from_identity) {
  check_shift("identity", "random-cov-scale=4", 20, 20);
}
BOOST_AUTO_TEST_CASE(random_exp_training_on_random_and_identity_tests) {
  // ZFB Figure 1, one layer: trained on random-exp (V_rdm), tested at scale c and on identity.
  check_shift("random-exp", "random-cov-scale=4", 40, 40);
  check_shift("random-exp", "test-cov=identity", 40, 40);
}
BOOST_AUTO_TEST_CASE(random_exp_task_and_query_scale) {
  check_shift("random-exp", "task-scale=1.5", 10, 15);
  check_shift("random-exp", "query-scale=0.5", 10, 15);
  check_shift("random-exp", "scale-x=2", 10, 40);
}
