#define BOOST_TEST_MODULE statistical_theory
#include <boost/test/unit_test.hpp>

#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"

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
  const PointModel model(covariance, setting.train_length, covariance, setting.test_length,
                         setting.noise);
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> predictors;
  for (auto name : known_predictors()) {
    if (name == "lsa" || !model.theory(name)) continue;
    names.emplace_back(name);
    owned.push_back(model.make(name));
    predictors.push_back(owned.back().get());
  }
  const PromptSampler sampler(covariance, setting.test_length, setting.noise);
  const std::string label = setting.covariance + " d=" + std::to_string(setting.dim) +
                            " N=" + std::to_string(setting.train_length) +
                            " M=" + std::to_string(setting.test_length) +
                            " s=" + std::to_string(setting.noise);
  const auto statistics =
      estimate_risks(sampler, predictors, {seed, stable_hash(label), setting.prompts, 256});
  for (std::size_t p = 0; p < names.size(); ++p) {
    const double theory = *model.theory(names[p]);
    const double estimate = statistics[p].mean;
    const double standard_error = statistics[p].standard_error();
    BOOST_TEST_MESSAGE(label << " " << names[p] << ": " << estimate << " ± " << standard_error
                             << " theory " << theory);
    if (theory == 0.0) {
      // Noise-free OLS with M ≥ d interpolates exactly: only rounding is left.
      BOOST_TEST(estimate < 1e-18 * covariance.matrix().trace(), label << " " << names[p]);
      continue;
    }
    const double z = (estimate - theory) / standard_error;
    BOOST_TEST(std::abs(z) < 4.0, label << " " << names[p] << ": estimate " << estimate << " ± "
                                        << standard_error << ", theory " << theory << ", z = " << z
                                        << ", seed " << seed);
  }
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
