#define BOOST_TEST_MODULE evaluation_monte_carlo
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"

#include <omp.h>

#include <cmath>
#include <vector>

using namespace icl;

BOOST_AUTO_TEST_CASE(welford_matches_two_pass_and_merges_in_any_split) {
  const std::vector<double> values = {1.5, -2.0, 3.25, 8.0, 0.125, -7.5, 4.0};
  double mean = 0;
  for (double v : values) mean += v;
  mean /= values.size();
  double m2 = 0;
  for (double v : values) m2 += (v - mean) * (v - mean);
  RunningStatistics whole;
  for (double v : values) whole.add(v);
  BOOST_TEST(std::abs(whole.mean - mean) < 1e-14);
  BOOST_TEST(std::abs(whole.sum_squared_deviations - m2) < 1e-12);
  for (std::size_t split = 0; split <= values.size(); ++split) {
    RunningStatistics left, right;
    for (std::size_t i = 0; i < values.size(); ++i) (i < split ? left : right).add(values[i]);
    left.merge(right);
    BOOST_TEST(left.count == values.size());
    BOOST_TEST(std::abs(left.mean - mean) < 1e-14);
    BOOST_TEST(std::abs(left.sum_squared_deviations - m2) < 1e-12);
  }
  BOOST_TEST(std::abs(whole.standard_error() - std::sqrt(m2 / 6.0 / 7.0)) < 1e-14);
}

BOOST_AUTO_TEST_CASE(third_and_fourth_moments_match_two_pass_in_any_split) {
  // Squared Gaussian-like errors: skewed and heavy-tailed, like the risks' squared errors.
  std::vector<double> values;
  for (int i = 1; i <= 200; ++i) {
    const double x = std::sin(1.7 * i) * 3 + std::cos(0.3 * i * i);
    values.push_back(x * x);
  }
  const double n = static_cast<double>(values.size());
  double mean = 0;
  for (double v : values) mean += v / n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : values) {
    const double e = v - mean;
    m2 += e * e;
    m3 += e * e * e;
    m4 += e * e * e * e;
  }
  const double skewness = std::sqrt(n) * m3 / std::pow(m2, 1.5);
  const double kurtosis = n * m4 / (m2 * m2) - 3;
  BOOST_TEST(skewness > 0.5);  // the data are skewed: the checks below can fail
  for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{57}, std::size_t{199},
                            std::size_t{200}}) {
    RunningStatistics left, right;
    for (std::size_t i = 0; i < values.size(); ++i) (i < split ? left : right).add(values[i]);
    left.merge(right);
    BOOST_TEST(std::abs(left.sum_cubed_deviations - m3) < 1e-10 * std::abs(m3));
    BOOST_TEST(std::abs(left.sum_fourth_deviations - m4) < 1e-10 * m4);
    BOOST_TEST(std::abs(left.skewness() - skewness) < 1e-10);
    BOOST_TEST(std::abs(left.excess_kurtosis() - kurtosis) < 1e-9);
  }
  // Cochran's rule: 25 g1² prompts.
  BOOST_TEST(minimum_prompts(2.0) == 100.0);
  BOOST_TEST(minimum_prompts(NAN) == 0.0);
  RunningStatistics constant;
  for (int i = 0; i < 5; ++i) constant.add(3.0);
  BOOST_TEST(std::isnan(constant.skewness()));
}

BOOST_AUTO_TEST_CASE(the_higher_moments_leave_mean_and_variance_bit_identical) {
  // The Welford updates of the mean and M2 as they were before M3 and M4 were kept: results
  // written before and after must not differ in a single bit.
  std::vector<double> values;
  for (int i = 1; i <= 1000; ++i) values.push_back(std::exp(std::sin(0.37 * i) * 4));
  std::uint64_t count = 0;
  double mean = 0, m2 = 0;
  RunningStatistics statistics;
  for (double v : values) {
    ++count;
    const double delta = v - mean;
    mean += delta / static_cast<double>(count);
    m2 += delta * (v - mean);
    statistics.add(v);
  }
  BOOST_TEST(statistics.mean == mean);
  BOOST_TEST(statistics.sum_squared_deviations == m2);
}

BOOST_AUTO_TEST_CASE(result_does_not_depend_on_the_thread_count) {
  const auto covariance = Covariance::parse("toeplitz:0.5", 4, 1);
  const PointModel model(covariance, 8, covariance, 6, 0.1);
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> predictors;
  for (auto name : {"lsa-theory", "ols", "knn3", "zero"}) {
    owned.push_back(model.make(name));
    predictors.push_back(owned.back().get());
  }
  const PromptSampler sampler(covariance, 6, 0.1);
  const MonteCarloSpec spec{7, 12345, 5000, 64};
  omp_set_num_threads(1);
  const auto one = estimate_risks(sampler, predictors, spec);
  omp_set_num_threads(2);
  const auto two = estimate_risks(sampler, predictors, spec);
  omp_set_num_threads(3);
  const auto three = estimate_risks(sampler, predictors, spec);
  for (std::size_t p = 0; p < predictors.size(); ++p) {
    BOOST_TEST(one[p].count == 5000u);
    // Bit-identical, not merely close.
    BOOST_TEST(one[p].mean == two[p].mean);
    BOOST_TEST(one[p].mean == three[p].mean);
    BOOST_TEST(one[p].sum_squared_deviations == three[p].sum_squared_deviations);
  }
}

BOOST_AUTO_TEST_CASE(errors_inside_the_parallel_region_reach_the_caller) {
  struct Throwing final : Predictor {
    double predict(const Prompt&, const PromptMoments&) const override {
      throw NumericalError("boom");
    }
  } throwing;
  const auto covariance = Covariance::parse("identity", 2, 1);
  const PromptSampler sampler(covariance, 3, 0.0);
  const Predictor* predictors[] = {&throwing};
  BOOST_CHECK_THROW(estimate_risks(sampler, predictors, {1, 1, 1000, 10}), NumericalError);
}
