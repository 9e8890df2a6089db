#include "core/closed_form_laws.hpp"

#include "core/checkpoint.hpp"
#include "core/covariance.hpp"
#include "core/rng.hpp"

#include <Eigen/LU>

#include <map>
#include <mutex>
#include <vector>

namespace icl {
namespace {

/// Theorem 4.2's task moments by a separately seeded Monte Carlo, for tasks without a closed form
/// (tanh, relu-2nn): `task_moment_samples` tasks, each with 2 x 4 noise-free inputs (the variance
/// comes mostly from the tasks, so many tasks with few inputs each). Within a task the two halves
/// give independent estimates m_A, m_B of E[x y], so that (m_A m_Bᵀ + m_B m_Aᵀ)/2 is unbiased for
/// Λ a aᵀ Λ and every moment below is unbiased. Results are cached per (task, Λ): they depend on
/// neither N nor M.
}  // namespace

void estimate_task_moments(const Task& task, const Eigen::MatrixXd& lambda,
                           theory::TaskMomentLaw& law) {
  static std::mutex cache_mutex;
  static std::map<std::pair<std::string, std::vector<double>>, theory::TaskMomentLaw> cache;
  const auto key =
      std::make_pair(task.text, std::vector<double>(lambda.data(), lambda.data() + lambda.size()));
  {
    std::lock_guard lock(cache_mutex);
    if (auto it = cache.find(key); it != cache.end()) {
      law.coefficient_moment = it->second.coefficient_moment;
      law.label_input_covariance = it->second.label_input_covariance;
      law.best_linear_error = it->second.best_linear_error;
      return;
    }
  }
  const int d = static_cast<int>(lambda.rows());
  const int half = 4;
  const Covariance covariance = Covariance::from_matrix(lambda, "task-moments");
  Task noise_free = task;
  noise_free.noise_std = 0.0;
  const std::uint64_t address =
      stable_hash("task-moments|" + task.text + "|d=" + std::to_string(d));
  const Eigen::MatrixXd lambda_inverse = lambda.inverse();
  Eigen::MatrixXd cross = Eigen::MatrixXd::Zero(d, d), weighted = Eigen::MatrixXd::Zero(d, d);
  double second_moment = 0.0, explained = 0.0;
  TaskDraw draw;
  Eigen::MatrixXd inputs(d, 2 * half);
  Eigen::VectorXd labels;
  const std::string phase = "closed forms: task moments of " + task.text;
  for (std::uint32_t k = 0; k < task_moment_samples; ++k) {
    if (k % 4096 == 0) checkpoint(phase, k, task_moment_samples);
    RandomStream task_random(task_moment_seed, {address, k, Stream::task});
    draw_task(noise_free, d, task_random, draw);
    RandomStream input_random(task_moment_seed, {address, k, Stream::inputs});
    input_random.fill_normal(inputs);
    covariance.transform(inputs, Eigen::VectorXd());
    task_labels(noise_free, draw, inputs, labels);
    const Eigen::VectorXd m_a = inputs.leftCols(half) * labels.head(half) / half;
    const Eigen::VectorXd m_b = inputs.rightCols(half) * labels.tail(half) / half;
    const Eigen::MatrixXd product = 0.5 * (m_a * m_b.transpose() + m_b * m_a.transpose());
    cross += product;
    const Eigen::MatrixXd scaled = inputs * labels.asDiagonal();
    weighted += scaled * scaled.transpose() / (2.0 * half) - product;
    second_moment += labels.squaredNorm() / (2.0 * half);
    explained += m_a.dot(lambda_inverse * m_b);
  }
  const double n = task_moment_samples;
  law.coefficient_moment = lambda_inverse * (cross / n) * lambda_inverse;
  law.label_input_covariance = weighted / n;
  law.best_linear_error = (second_moment - explained) / n;
  std::lock_guard lock(cache_mutex);
  cache[key] = law;
}

namespace {

/// Theorem 4.2 holds for fixed Gaussian inputs with the query from the prompt's law.
bool nonlinear_task_has_theory(const PromptLaw& law) {
  return !law.inputs.is_random() && !law.query_covariance && law.transform.size() == 0 &&
         law.query_scale == 1.0;
}

}  // namespace

std::optional<theory::TaskMomentLaw> task_moment_law(const Task& task,
                                                     const Eigen::MatrixXd& lambda, int test_length,
                                                     double noise_std, double label_scale) {
  const int d = static_cast<int>(lambda.rows());
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(d, d);
  const double trace = lambda.trace(), trace2 = (lambda * lambda).trace();
  theory::TaskMomentLaw law;
  law.covariance = lambda;
  law.length = test_length;
  switch (task.kind) {
    case TaskKind::relu:
      // Stein: E[x y | w] = Λw E[1{z>0}] = Λw/2; with σ² = wᵀΛw, E[y² x xᵀ] = ΛwwᵀΛ + (σ²/2) Λ, so
      // Σ = ¾ ΛwwᵀΛ + (σ²/2) Λ and the best linear error is σ²/4. Averaged over w ~ N(0, I).
      law.coefficient_moment = 0.25 * identity;
      law.label_input_covariance = 0.75 * lambda * lambda + 0.5 * trace * lambda;
      law.best_linear_error = 0.25 * trace;
      break;
    case TaskKind::quadratic: {
      // y = <w,x> + ½<v,x>², v ~ N(0, I/d): a = w; E[y² x xᵀ] adds, with σ_v² = vᵀΛv,
      // ¼ E[<v,x>⁴ x xᵀ] = 3σ_v² ΛvvᵀΛ + ¾ σ_v⁴ Λ (Isserlis); E[σ_v² vvᵀ] = (2Λ + tr Λ I)/d²,
      // E[σ_v⁴] = (2 tr Λ² + (tr Λ)²)/d². The best linear error is ¾ E σ_v⁴.
      const double dd = static_cast<double>(d) * d;
      const double sigma4 = (2.0 * trace2 + trace * trace) / dd;
      law.coefficient_moment = identity;
      law.label_input_covariance = lambda * lambda + trace * lambda +
                                   3.0 * lambda * (2.0 * lambda + trace * identity) * lambda / dd +
                                   0.75 * sigma4 * lambda;
      law.best_linear_error = 0.75 * sigma4;
      break;
    }
    case TaskKind::tanh:
    case TaskKind::relu_2nn:
      estimate_task_moments(task, lambda, law);
      break;
    default:
      return std::nullopt;
  }
  const double scale2 = label_scale * label_scale;
  law.coefficient_moment *= scale2;
  law.label_input_covariance *= scale2;
  law.best_linear_error *= scale2;
  // Noise ε independent of x: Σ gains s² Λ, the best linear error s².
  law.label_input_covariance += noise_std * noise_std * lambda;
  law.best_linear_error += noise_std * noise_std;
  return law;
}

std::string theory_source(const PromptLaw& law, int test_length) {
  if (!law.is_gaussian_independent()) return "none";
  if (law.task.is_linear())
    return std::holds_alternative<std::monostate>(closed_form_law(law, test_length, false))
               ? "none"
               : "closed-form";
  if (!nonlinear_task_has_theory(law)) return "none";
  return law.task.kind == TaskKind::tanh || law.task.kind == TaskKind::relu_2nn ? "monte-carlo"
                                                                                : "closed-form";
}

ClosedFormLaw closed_form_law(const PromptLaw& law, int test_length, bool ignore_query_rule) {
  if (!ignore_query_rule && !law.is_gaussian_independent()) return std::monostate{};
  const int dim = law.dim();
  if (!law.task.is_linear()) {
    if (!nonlinear_task_has_theory(law)) return std::monostate{};
    const auto moments =
        task_moment_law(law.task, law.inputs.matrix(), test_length, law.noise_std, law.task_scale);
    if (!moments) return std::monostate{};
    return *moments;
  }
  const double task_moment = law.task.linear_second_moment(dim);
  if (law.inputs.is_random()) {
    if (law.query_covariance || law.transform.size() > 0) return std::monostate{};
    return theory::RandomExpTestLaw{dim,
                                    law.inputs.random_scale(),
                                    law.noise_std,
                                    test_length,
                                    law.task_scale * std::sqrt(task_moment),
                                    law.query_scale};
  }
  if (law.query_covariance && law.query_covariance->is_random()) return std::monostate{};
  const Eigen::MatrixXd transform =
      law.transform.size() > 0 ? law.transform : Eigen::MatrixXd::Identity(dim, dim);
  const Eigen::MatrixXd prompt = transform * law.inputs.matrix() * transform.transpose();
  const Eigen::MatrixXd query_base =
      law.query_covariance ? law.query_covariance->matrix() : law.inputs.matrix();
  const Eigen::MatrixXd query =
      law.query_scale * law.query_scale * transform * query_base * transform.transpose();
  return theory::GaussianTestLaw{
      prompt, query,
      law.task_scale * law.task_scale * task_moment * Eigen::MatrixXd::Identity(dim, dim),
      law.noise_std, test_length};
}

}  // namespace icl
