#define BOOST_TEST_MODULE statistical_tasks
#include <boost/test/unit_test.hpp>

#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"

#include <Eigen/LU>

#include <cmath>
#include <string>
#include <vector>

// Tasks: Monte Carlo against Theorem 4.2's closed forms (within 4 standard errors, fixed seed), and
// the trained LSA approaching the best linear predictor as N = M grows, for every nonlinear task.

using namespace icl;

namespace {

constexpr std::uint64_t seed = 31337;
const char* diag = "diag:2,1,0.5,0.25";

struct Estimate {
  double risk, standard_error;
};

std::vector<Estimate> run(const std::string& task_text, int train_length, int test_length,
                          const std::vector<std::string>& names, std::uint32_t prompts,
                          std::vector<std::optional<double>>* theory = nullptr) {
  const Covariance covariance = Covariance::parse(diag, 4, seed);
  const PromptLaw law =
      PromptLaw::shifted(covariance, Shift::parse("none"), seed, Task::parse(task_text));
  const PointModel model(covariance, train_length, law, test_length);
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> predictors;
  for (const auto& name : names) {
    owned.push_back(model.make(name));
    predictors.push_back(owned.back().get());
    if (theory) theory->push_back(model.theory(name));
  }
  const std::string label =
      task_text + " N=" + std::to_string(train_length) + " M=" + std::to_string(test_length);
  const auto statistics = estimate_risks(PromptSampler(law, test_length), predictors,
                                         {seed, stable_hash(label), prompts, 256});
  std::vector<Estimate> estimates;
  for (const auto& s : statistics) estimates.push_back({s.mean, s.standard_error()});
  return estimates;
}

void check_theory(const std::string& task_text, int n, int m) {
  const std::vector<std::string> names = {"lsa-theory", "gd1", "gd1-opt", "best-lsa", "zero"};
  std::vector<std::optional<double>> theory;
  const auto estimates = run(task_text, n, m, names, 200000, &theory);
  for (std::size_t p = 0; p < names.size(); ++p) {
    BOOST_TEST_REQUIRE(theory[p].has_value(), task_text << " " << names[p]);
    const double z = (estimates[p].risk - *theory[p]) / estimates[p].standard_error;
    BOOST_TEST_MESSAGE(task_text << " " << names[p] << ": " << estimates[p].risk << " ± "
                                 << estimates[p].standard_error << " theory " << *theory[p]);
    BOOST_TEST(std::abs(z) < 4.0, task_text << " N=" << n << " M=" << m << " " << names[p] << ": "
                                            << estimates[p].risk << " ± "
                                            << estimates[p].standard_error << ", theory "
                                            << *theory[p] << ", seed " << seed);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(relu_theory) {
  check_theory("relu", 10, 6);
}
BOOST_AUTO_TEST_CASE(relu_with_noise_theory) {
  check_theory("relu+noise=0.5", 20, 30);
}
BOOST_AUTO_TEST_CASE(quadratic_theory) {
  check_theory("quadratic", 10, 12);
}
BOOST_AUTO_TEST_CASE(sparse_theory) {
  check_theory("sparse:2", 10, 8);
}

BOOST_AUTO_TEST_CASE(lsa_approaches_the_best_linear_predictor) {
  // OLS on prompts of length 1024 (d = 4) is within about d/M ≈ 0.4% of the best linear error. The
  // LSA's excess over it must shrink along N = M = 8, 32, 128 (steps far above the Monte Carlo
  // noise, about 0.02 here), and at 512 be at most an eighth of its value at 8 (theory: the excess
  // falls like 1/M + 1/N²).
  for (const std::string task : {"relu", "quadratic", "tanh", "relu-2nn:8", "sparse:2+noise=0.3"}) {
    const double best = run(task, 1024, 1024, {"ols"}, 20000)[0].risk;
    double previous = INFINITY, first = INFINITY;
    std::string sequence;
    for (int length : {8, 32, 128, 512}) {
      const double risk = run(task, length, length, {"lsa-theory"}, 20000)[0].risk;
      const double excess = risk - best;
      sequence += ' ';
      sequence += std::to_string(excess);
      if (length <= 128)
        BOOST_TEST(excess < previous,
                   task << ": excess over the best linear error did not shrink:" << sequence);
      if (length == 8) first = excess;
      previous = excess;
    }
    BOOST_TEST_MESSAGE(task << ": best linear error ≈ " << best
                            << ", LSA excess at N = M = 8, 32, 128, 512:" << sequence);
    BOOST_TEST(previous < first / 8,
               task << ": excess at N = M = 512 is " << previous << ", at 8 " << first);
  }
}

BOOST_AUTO_TEST_CASE(tanh_and_relu_2nn_theory_from_estimated_task_moments) {
  check_theory("tanh", 10, 12);
  check_theory("relu-2nn:8", 10, 12);
}

BOOST_AUTO_TEST_CASE(estimated_task_moments_match_the_closed_forms) {
  // The Monte Carlo estimator of the task moments, run on tasks that have closed forms: the risks
  // it implies agree with the closed-form ones to 1% (its error is about 0.1-0.4%).
  const Covariance covariance = Covariance::parse(diag, 4, seed);
  for (const char* name : {"relu", "quadratic"}) {
    const Task task = Task::parse(name);
    const auto exact = *task_moment_law(task, covariance.matrix(), 10, 0.0, 1.0);
    theory::TaskMomentLaw estimated = exact;
    estimate_task_moments(task, covariance.matrix(), estimated);
    const Eigen::MatrixXd v = theory::gamma(covariance.matrix(), 10).inverse();
    for (const Eigen::MatrixXd& preconditioner :
         {v, Eigen::MatrixXd(Eigen::MatrixXd::Identity(4, 4))}) {
      const double a = theory::preconditioner_risk(preconditioner, exact);
      const double b = theory::preconditioner_risk(preconditioner, estimated);
      BOOST_TEST(std::abs(a - b) < 0.01 * a, name << ": closed form " << a << ", estimated " << b);
    }
    BOOST_TEST(std::abs(exact.best_linear_error - estimated.best_linear_error) <
                   0.01 * exact.best_linear_error + 1e-3,
               name);
  }
}
