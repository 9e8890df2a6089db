#pragma once
/// The statistical tests' one comparison: Monte Carlo risk of every predictor that has a closed form
/// (the `lsa` predictor excepted: it needs a trained model) against that closed form, within 4
/// standard errors, on common random numbers. A closed form of exactly 0 (noise-free least squares
/// with M ≥ d) leaves only rounding, checked as such. On failure the message gives the estimate, its
/// standard error, the theory, z and the seed.
#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace icl::testing {

/// Returns the number of predictors compared.
inline std::size_t check_against_theory(const Covariance& training, int train_length,
                                        const PromptLaw& test_law, int test_length,
                                        const std::string& label, std::uint64_t seed,
                                        std::uint32_t prompts) {
  const PointModel model(training, train_length, test_law, test_length);
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> predictors;
  for (auto name : known_predictors()) {
    if (name == "lsa" || !model.theory(name)) continue;
    names.emplace_back(name);
    owned.push_back(model.make(name));
    predictors.push_back(owned.back().get());
  }
  const PromptSampler sampler(test_law, test_length);
  const auto statistics =
      estimate_risks(sampler, predictors, {seed, stable_hash(label), prompts, 256});
  for (std::size_t p = 0; p < names.size(); ++p) {
    const double theory = *model.theory(names[p]);
    const double estimate = statistics[p].mean;
    const double standard_error = statistics[p].standard_error();
    BOOST_TEST_MESSAGE(label << " " << names[p] << ": " << estimate << " ± " << standard_error
                             << " theory " << theory);
    if (theory == 0.0) {
      BOOST_TEST(estimate < 1e-18 * test_law.inputs.matrix().trace(), label << " " << names[p]);
      continue;
    }
    const double z = (estimate - theory) / standard_error;
    BOOST_TEST(std::abs(z) < 4.0, label << " " << names[p] << ": estimate " << estimate << " ± "
                                        << standard_error << ", theory " << theory << ", z = " << z
                                        << ", seed " << seed);
  }
  return names.size();
}

}  // namespace icl::testing
