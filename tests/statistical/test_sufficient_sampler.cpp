#define BOOST_TEST_MODULE statistical_sufficient_sampler
#include <boost/test/unit_test.hpp>

#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"
#include "evaluation/sufficient.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

/// The sufficient-statistic sampler against the plain one, on five anisotropic laws that exercise
/// every branch (noise, M < d, a dense input transform with a query scale, random covariances with
/// a random query law, a sparse task with a label scale). Fixed seeds; n = 20 000 draws per
/// sampler. Criteria: two-sample z of means within 4.5 (moments of S, the risk), two-sample
/// Kolmogorov-Smirnov distance below its 10⁻⁴ critical value 2.226·√(2/n) (predictions and errors),
/// and the closed form within 4.5 standard errors of the conditional-risk mean where one exists.

using namespace icl;

namespace {

constexpr int draws = 20000;
constexpr double z_bound = 4.5;
const double ks_bound = 2.226 * std::sqrt(2.0 / draws);

struct Sample {
  std::vector<double> values;
  double mean() const {
    double s = 0;
    for (double v : values) s += v;
    return s / values.size();
  }
  double variance() const {
    const double m = mean();
    double s = 0;
    for (double v : values) s += (v - m) * (v - m);
    return s / (values.size() - 1);
  }
  double standard_error() const { return std::sqrt(variance() / values.size()); }
};

double two_sample_z(const Sample& a, const Sample& b) {
  return (a.mean() - b.mean()) / std::hypot(a.standard_error(), b.standard_error());
}

double ks_distance(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::size_t i = 0, j = 0;
  double distance = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    distance = std::max(distance, std::abs(double(i) / a.size() - double(j) / b.size()));
  }
  return distance;
}

/// A fixed, non-symmetric preconditioner (any fixed V must give the same law of predictions).
Eigen::MatrixXd some_preconditioner(int dim) {
  Eigen::MatrixXd v = Eigen::MatrixXd::Identity(dim, dim) * 0.8;
  for (int i = 0; i + 1 < dim; ++i) v(i, i + 1) = 0.15;
  v(dim - 1, 0) = -0.1;
  return v;
}

struct Case {
  std::string label;
  PromptLaw law;
  int length;
};

void compare(const Case& c) {
  const int d = c.law.dim();
  const std::uint64_t point = stable_hash(c.label);
  const PromptSampler plain(c.law, c.length);
  const SufficientSampler sufficient(c.law, c.length);
  const std::vector<LinearForm> forms = {
      {LinearForm::Kind::fixed, some_preconditioner(d), 0.0},
      {LinearForm::Kind::least_squares, {}, 0.0},
  };
  const char* form_names[] = {"fixed V", "ols"};

  // Per draw: S_00, S_01, S_{d-1,d-1}, tr S², and each form's prediction, error and risk.
  std::vector<Sample> plain_moments(4), sufficient_moments(4);
  std::vector<Sample> plain_prediction(2), plain_error(2), sufficient_prediction(2),
      sufficient_error(2), conditional(2);
  Prompt prompt;
  PromptMoments moments;
  SufficientDraw draw;
  SufficientPrompt completed;
  auto record_moments = [&](const Eigen::MatrixXd& s, std::vector<Sample>& into) {
    into[0].values.push_back(s(0, 0));
    into[1].values.push_back(s(0, 1));
    into[2].values.push_back(s(d - 1, d - 1));
    into[3].values.push_back((s * s).trace());
  };
  for (std::uint32_t k = 0; k < draws; ++k) {
    plain.sample(11, point, k, prompt);
    compute_moments(prompt, moments);
    const Eigen::MatrixXd s = prompt.inputs * prompt.inputs.transpose() / c.length;
    record_moments(s, plain_moments);
    SufficientDraw plain_as_draw;  // the plain prompt's own S, to run the same V(S)
    plain_as_draw.second_moment = s;
    for (int f = 0; f < 2; ++f) {
      const double y = moments.label_weighted_mean.dot(
          sufficient.preconditioner(forms[f], plain_as_draw) * prompt.query);
      plain_prediction[f].values.push_back(y);
      plain_error[f].values.push_back((y - prompt.query_label) * (y - prompt.query_label));
    }

    sufficient.sample(11, point, k, draw);
    sufficient.complete(11, point, k, draw, completed);
    record_moments(draw.second_moment, sufficient_moments);
    for (int f = 0; f < 2; ++f) {
      const double y = sufficient.predict(forms[f], draw, completed);
      sufficient_prediction[f].values.push_back(y);
      sufficient_error[f].values.push_back((y - completed.query_label) *
                                           (y - completed.query_label));
      conditional[f].values.push_back(sufficient.conditional_risk(forms[f], draw));
    }
  }

  const char* moment_names[] = {"S_00", "S_01", "S_dd", "tr S^2"};
  for (int m = 0; m < 4; ++m) {
    const double z = two_sample_z(plain_moments[m], sufficient_moments[m]);
    BOOST_TEST_MESSAGE(c.label << " " << moment_names[m] << ": plain " << plain_moments[m].mean()
                               << " sufficient " << sufficient_moments[m].mean() << " z " << z);
    BOOST_TEST(std::abs(z) < z_bound, c.label << " " << moment_names[m] << " z = " << z);
  }
  const auto law = closed_form_law(c.law, c.length, false);
  for (int f = 0; f < 2; ++f) {
    const std::string what = c.label + " " + form_names[f];
    const double ks_prediction =
        ks_distance(plain_prediction[f].values, sufficient_prediction[f].values);
    const double ks_error = ks_distance(plain_error[f].values, sufficient_error[f].values);
    BOOST_TEST(ks_prediction < ks_bound, what << " predictions: KS " << ks_prediction);
    // Noise-free least squares with M >= d has errors of rounding size only: nothing to compare.
    const double largest_error = std::max(
        *std::max_element(plain_error[f].values.begin(), plain_error[f].values.end()),
        *std::max_element(sufficient_error[f].values.begin(), sufficient_error[f].values.end()));
    if (largest_error > 1e-18)
      BOOST_TEST(ks_error < ks_bound, what << " squared errors: KS " << ks_error);
    const double z = two_sample_z(plain_error[f], conditional[f]);
    const double factor = plain_error[f].variance() / conditional[f].variance();
    BOOST_TEST_MESSAGE(what << ": plain risk " << plain_error[f].mean() << " ± "
                            << plain_error[f].standard_error() << ", conditional "
                            << conditional[f].mean() << " ± " << conditional[f].standard_error()
                            << ", variance reduction x" << factor << ", KS " << ks_prediction
                            << " / " << ks_error << " (bound " << ks_bound << ")");
    BOOST_TEST(std::abs(z) < z_bound, what << " risk: z = " << z);
    if (f == 0 && conditional[f].variance() > 0) BOOST_TEST(factor > 1.0, what);
    if (f == 0 && !std::holds_alternative<std::monostate>(law)) {
      const double theory = std::visit(
          [&](const auto& l) -> double {
            if constexpr (std::is_same_v<std::decay_t<decltype(l)>, std::monostate>)
              return NAN;
            else
              return theory::preconditioner_risk(forms[0].preconditioner, l);
          },
          law);
      const double z_theory = (conditional[f].mean() - theory) / conditional[f].standard_error();
      BOOST_TEST_MESSAGE(what << ": theory " << theory << " z " << z_theory);
      BOOST_TEST(std::abs(z_theory) < z_bound, what << " against theory: z = " << z_theory);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(noisy_diagonal_law) {
  compare({"diag noise", PromptLaw(Covariance::parse("diag:4,2,1,0.5,0.1", 5, 1), 0.4), 12});
}

BOOST_AUTO_TEST_CASE(fewer_examples_than_dimensions_with_a_dense_transform) {
  const auto covariance = Covariance::parse("toeplitz:0.6", 5, 1);
  PromptLaw law = PromptLaw::shifted(covariance, Shift::parse("skewed"), 3);
  law.query_scale = 1.5;
  compare({"toeplitz skewed M<d", law, 3});
}

BOOST_AUTO_TEST_CASE(random_covariances_with_noise) {
  // Λ_τ = 4·diag(Exp(1)) per prompt, the query from the same Λ_τ (random-cov-scale).
  const auto covariance = Covariance::parse("identity", 4, 1);
  PromptLaw law = PromptLaw::shifted(covariance, Shift::parse("random-cov-scale=4"), 3,
                                     Task::parse("linear+noise=0.3"));
  compare({"random-exp", law, 8});
}

BOOST_AUTO_TEST_CASE(random_query_law) {
  // x_q from its own random diagonal covariance, independent of the prompt's inputs. (With label
  // noise, ols would have an infinite risk here: E 1/λ is infinite for λ ~ Exp(1).)
  const auto covariance = Covariance::parse("diag:2,1,0.5,0.25", 4, 1);
  PromptLaw law = PromptLaw::shifted(covariance, Shift::parse("query-cov=random-exp"), 3);
  compare({"random query", law, 6});
}

BOOST_AUTO_TEST_CASE(sparse_task_with_label_scale) {
  const auto covariance = Covariance::parse("power:1", 5, 1);
  PromptLaw law =
      PromptLaw::shifted(covariance, Shift::parse("task-scale=2"), 3, Task::parse("sparse:2"));
  compare({"sparse", law, 6});
}

BOOST_AUTO_TEST_CASE(engine_estimators_agree) {
  // The two estimators the engine runs, on the same point: lsa-theory, gd1, ols and zero.
  const auto covariance = Covariance::parse("diag:4,2,1,0.5,0.1", 5, 1);
  const PromptLaw law(covariance, 0.2);
  const PointModel model(covariance, 10, law, 20);
  const std::vector<std::string> names = {"lsa-theory", "gd1", "ols", "zero"};
  std::vector<std::unique_ptr<Predictor>> owned;
  std::vector<const Predictor*> predictors;
  std::vector<LinearForm> forms;
  for (const auto& name : names) {
    owned.push_back(model.make(name));
    predictors.push_back(owned.back().get());
    forms.push_back(*owned.back()->linear_form());
  }
  const auto plain =
      estimate_risks(PromptSampler(law, 20), predictors, {7, stable_hash("engine"), 40000, 256});
  const auto sufficient = estimate_conditional_risks(SufficientSampler(law, 20), forms,
                                                     {7, stable_hash("engine"), 40000, 256});
  for (std::size_t p = 0; p < names.size(); ++p) {
    const double theory = *model.theory(names[p]);
    const double se = sufficient[p].standard_error();
    const double factor = plain[p].variance() / std::max(sufficient[p].variance(), 1e-300);
    BOOST_TEST_MESSAGE(names[p] << ": plain " << plain[p].mean << " ± " << plain[p].standard_error()
                                << ", sufficient " << sufficient[p].mean << " ± " << se
                                << ", theory " << theory << ", variance reduction x" << factor);
    BOOST_TEST(std::abs(plain[p].mean - theory) < z_bound * plain[p].standard_error(), names[p]);
    if (se > 0)
      BOOST_TEST(std::abs(sufficient[p].mean - theory) < z_bound * se, names[p]);
    else
      BOOST_TEST(std::abs(sufficient[p].mean - theory) < 1e-12 * theory, names[p]);
  }
}
