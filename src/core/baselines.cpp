#include "core/baselines.hpp"

#include "core/rng.hpp"
#include "core/theory.hpp"

#include <Eigen/Cholesky>

#include <cmath>
#include <limits>
#include <vector>

namespace icl {
namespace {

/// What k gradient steps need of a tuning prompt: S, h, x_q and y_q.
struct TuningPrompt {
  Eigen::MatrixXd s;
  Eigen::VectorXd h, query;
  double label = 0;
};

double steps_prediction(const Eigen::MatrixXd& s, const Eigen::VectorXd& h,
                        const Eigen::VectorXd& query, const Eigen::MatrixXd& preconditioner,
                        double step, int steps) {
  Eigen::VectorXd w = Eigen::VectorXd::Zero(h.size());
  for (int j = 0; j < steps; ++j) w += step * (preconditioner * (h - s * w));
  return w.dot(query);
}

}  // namespace

double gradient_steps_predict(const Prompt& prompt, const Eigen::VectorXd& h,
                              const Eigen::MatrixXd& preconditioner, double step, int steps) {
  // S w = (1/M) X (Xᵀ w) without forming S: O(M d) per step.
  const double m = prompt.length();
  Eigen::VectorXd w = Eigen::VectorXd::Zero(h.size());
  for (int j = 0; j < steps; ++j) {
    const Eigen::VectorXd s_w = prompt.inputs * (prompt.inputs.transpose() * w) / m;
    w += step * (preconditioner * (h - s_w));
  }
  return w.dot(prompt.query);
}

double tune_gradient_step(const PromptLaw& law, int length, const Eigen::MatrixXd& preconditioner,
                          int steps, std::uint64_t seed, std::uint64_t tuning_address) {
  const PromptSampler sampler(law, length);
  std::vector<TuningPrompt> prompts(step_tuning_prompts);
  Prompt prompt;
  PromptMoments moments;
  double trace = 0;
  for (std::uint32_t i = 0; i < step_tuning_prompts; ++i) {
    sampler.sample(seed, tuning_address, i, prompt);
    compute_moments(prompt, moments);
    auto& t = prompts[i];
    t.s = prompt.inputs * prompt.inputs.transpose() / static_cast<double>(length);
    t.h = moments.label_weighted_mean;
    t.query = prompt.query;
    t.label = prompt.query_label;
    trace += (preconditioner * t.s).trace() / step_tuning_prompts;
  }
  auto risk = [&](double log_step) {
    const double step = std::exp(log_step);
    double sum = 0;
    for (const auto& t : prompts) {
      const double error =
          steps_prediction(t.s, t.h, t.query, preconditioner, step, steps) - t.label;
      sum += error * error;
    }
    return std::isfinite(sum) ? sum : std::numeric_limits<double>::infinity();
  };
  // A log grid around the natural scale d / tr(P S) (from 1e-3 to 10 times it), then
  // golden-section search between the best point's neighbours.
  const double dim = static_cast<double>(preconditioner.rows());
  const double base = std::log(dim / std::max(trace, 1e-300));
  const int grid = 41;
  std::vector<double> logs(grid), risks(grid);
  int best = 0;
  for (int j = 0; j < grid; ++j) {
    logs[j] = base + std::log(10.0) * (-3.0 + 4.0 * j / (grid - 1));
    risks[j] = risk(logs[j]);
    if (risks[j] < risks[best]) best = j;
  }
  double lo = logs[std::max(best - 1, 0)], hi = logs[std::min(best + 1, grid - 1)];
  const double ratio = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
  double fa = risk(a), fb = risk(b);
  for (int iteration = 0; iteration < 30; ++iteration) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = risk(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = risk(b);
    }
  }
  const double refined = fa < fb ? a : b;
  return std::exp(std::min(fa, fb) <= risks[best] ? refined : logs[best]);
}

Eigen::MatrixXd training_preconditioner(const Covariance& covariance, int train_length) {
  const int dim = covariance.dim();
  if (covariance.is_random()) return theory::random_exp_preconditioner(dim, train_length);
  return theory::gamma(covariance.matrix(), train_length)
      .llt()
      .solve(Eigen::MatrixXd::Identity(dim, dim));
}

std::uint64_t step_tuning_address(int dim, int train_length, const std::string& covariance,
                                  const std::string& task, int steps) {
  return stable_hash("step tuning|d=" + std::to_string(dim) + ";N=" + std::to_string(train_length) +
                     ";covariance=" + covariance + ";task=" + task +
                     ";steps=" + std::to_string(steps));
}

}  // namespace icl
