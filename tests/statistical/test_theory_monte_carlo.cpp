#define BOOST_TEST_MODULE statistical_theory
#include <boost/test/unit_test.hpp>

#include "theory_check.hpp"

#include <cmath>
#include <string>
#include <vector>

// Monte Carlo risk of every predictor with a closed form, against that closed form.
// Tolerance: 4 standard errors. The seeds are fixed, so the outcome is deterministic; with ~40
// comparisons a correct implementation would fail one at 4 sd with probability about 0.3% for a
// fresh seed. On failure the message gives the estimate, its standard error, the theory and the
// seed.

using namespace icl;

namespace {

struct Setting {
  std::string covariance;
  int dim, train_length, test_length;
  double noise;
  std::uint32_t prompts;
};

constexpr std::uint64_t seed = 20240601;

void check_setting(const Setting& setting) {
  const Covariance covariance = Covariance::parse(setting.covariance, setting.dim, seed);
  const std::string label = setting.covariance + " d=" + std::to_string(setting.dim) +
                            " N=" + std::to_string(setting.train_length) +
                            " M=" + std::to_string(setting.test_length) +
                            " s=" + std::to_string(setting.noise);
  testing::check_against_theory(covariance, setting.train_length,
                                PromptLaw(covariance, setting.noise), setting.test_length, label,
                                seed, setting.prompts);
}

}  // namespace

BOOST_AUTO_TEST_CASE(diag_short_test_prompts) {
  check_setting({"diag:4,2,1,0.5,0.1", 5, 10, 3, 0.0, 200000});
}
BOOST_AUTO_TEST_CASE(diag_long_test_prompts) {
  check_setting({"diag:4,2,1,0.5,0.1", 5, 10, 50, 0.0, 200000});
}
BOOST_AUTO_TEST_CASE(toeplitz_with_noise) {
  check_setting({"toeplitz:0.8", 5, 10, 20, 0.5, 200000});
}
BOOST_AUTO_TEST_CASE(rotated_with_noise) {
  check_setting({"rotated:diag:4,2,1,0.5,0.1", 5, 20, 8, 0.3, 200000});
}
BOOST_AUTO_TEST_CASE(identity_ols_below_d) {
  check_setting({"identity", 8, 16, 4, 0.5, 200000});
}
BOOST_AUTO_TEST_CASE(identity_ols_below_d_noise_free) {
  check_setting({"identity", 8, 16, 5, 0.0, 200000});
}
BOOST_AUTO_TEST_CASE(power_at_m_equals_n) {
  check_setting({"power:1", 10, 40, 40, 0.0, 100000});
}
BOOST_AUTO_TEST_CASE(random_exp) {
  check_setting({"random-exp", 6, 12, 24, 0.2, 200000});
}
