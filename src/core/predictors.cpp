#include "core/predictors.hpp"

#include "core/baselines.hpp"
#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "core/parse.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <Eigen/QR>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace icl {
namespace {

constexpr std::array<std::string_view, 11> predictor_names = {
    "lsa",  "lsa-theory", "ols",      "ridge", "gd1", "gd1-opt",
    "gd-L", "pgd-L",      "best-lsa", "zero",  "knn3"};

/// ŷ = hᵀ V x_q.
class PreconditionedPredictor final : public Predictor {
 public:
  explicit PreconditionedPredictor(Eigen::MatrixXd preconditioner)
      : preconditioner_(std::move(preconditioner)) {}
  double predict(const Prompt& prompt, const PromptMoments& moments) const override {
    return moments.label_weighted_mean.dot(preconditioner_ * prompt.query);
  }
  std::optional<LinearForm> linear_form() const override {
    return LinearForm::fixed(preconditioner_);
  }

 private:
  Eigen::MatrixXd preconditioner_;
};

/// ŷ = η x_qᵀ h: one gradient step from 0 on the prompt's squared loss.
class GradientStepPredictor final : public Predictor {
 public:
  GradientStepPredictor(double step, int dim) : step_(step), dim_(dim) {}
  double predict(const Prompt& prompt, const PromptMoments& moments) const override {
    return step_ * moments.label_weighted_mean.dot(prompt.query);
  }
  std::optional<LinearForm> linear_form() const override {
    return LinearForm::fixed(step_ * Eigen::MatrixXd::Identity(dim_, dim_));
  }

 private:
  double step_;
  int dim_;
};

/// The trained model's own forward pass in reduced form (p and q need not be 0).
class TrainedLsaPredictor final : public Predictor {
 public:
  explicit TrainedLsaPredictor(LsaParameters parameters) : parameters_(std::move(parameters)) {}
  double predict(const Prompt& prompt, const PromptMoments& moments) const override {
    return lsa_predict_reduced(prompt, moments, parameters_);
  }
  std::optional<LinearForm> linear_form() const override {
    // ŷ = u hᵀ U x_q exactly when p = 0 and q = 0 (docs/mathematics.md section 2).
    const int d = parameters_.dim();
    if (!parameters_.value_projection.row(d).head(d).isZero(0.0) ||
        !parameters_.key_query.row(d).head(d).isZero(0.0))
      return std::nullopt;
    return LinearForm::fixed(effective_preconditioner(parameters_));
  }

 private:
  LsaParameters parameters_;
};

/// The trained lsa-L model's forward pass on the prompt's embedding.
class DeepLsaPredictor final : public Predictor {
 public:
  explicit DeepLsaPredictor(DeepLsaParameters parameters) : parameters_(std::move(parameters)) {}
  double predict(const Prompt& prompt, const PromptMoments&) const override {
    return deep_lsa_predict(embed(prompt), parameters_);
  }

 private:
  DeepLsaParameters parameters_;
};

/// The trained softmax-L-H model's forward pass.
class SoftmaxPredictor final : public Predictor {
 public:
  explicit SoftmaxPredictor(SoftmaxParameters parameters) : parameters_(std::move(parameters)) {}
  double predict(const Prompt& prompt, const PromptMoments&) const override {
    return softmax_attention_predict(embed(prompt), parameters_);
  }

 private:
  SoftmaxParameters parameters_;
};

/// k steps of (preconditioned) gradient descent with a tuned step (core/baselines.hpp).
class GradientStepsPredictor final : public Predictor {
 public:
  GradientStepsPredictor(Eigen::MatrixXd preconditioner, double step, int steps)
      : preconditioner_(std::move(preconditioner)), step_(step), steps_(steps) {}
  double predict(const Prompt& prompt, const PromptMoments& moments) const override {
    return gradient_steps_predict(prompt, moments.label_weighted_mean, preconditioner_, step_,
                                  steps_);
  }

 private:
  Eigen::MatrixXd preconditioner_;
  double step_;
  int steps_;
};

/// Min-norm least squares (penalty 0) or ridge. The rank-revealing complete orthogonal
/// decomposition gives the minimum-norm solution when M < d; ridge solves the d x d normal
/// equations.
class LeastSquaresPredictor final : public Predictor {
 public:
  explicit LeastSquaresPredictor(double penalty) : penalty_(penalty) {}
  double predict(const Prompt& prompt, const PromptMoments&) const override {
    if (penalty_ == 0.0) {
      const Eigen::MatrixXd design = prompt.inputs.transpose();  // M x d
      const Eigen::VectorXd weights = design.completeOrthogonalDecomposition().solve(prompt.labels);
      return weights.dot(prompt.query);
    }
    Eigen::MatrixXd normal = prompt.inputs * prompt.inputs.transpose();
    normal.diagonal().array() += penalty_;
    const Eigen::VectorXd weights = normal.llt().solve(prompt.inputs * prompt.labels);
    return weights.dot(prompt.query);
  }
  std::optional<LinearForm> linear_form() const override {
    return LinearForm::least_squares(penalty_);
  }

 private:
  double penalty_;
};

/// Mean label of the k prompt inputs nearest to the query (Euclidean); all of them when M < k.
/// Ties are broken by the lower index, so the result is deterministic.
class NearestNeighbourPredictor final : public Predictor {
 public:
  explicit NearestNeighbourPredictor(int neighbours) : neighbours_(neighbours) {}
  double predict(const Prompt& prompt, const PromptMoments&) const override {
    const int n = prompt.length();
    const int k = std::min(neighbours_, n);
    std::vector<std::pair<double, int>> distances(n);
    for (int i = 0; i < n; ++i)
      distances[i] = {(prompt.inputs.col(i) - prompt.query).squaredNorm(), i};
    std::partial_sort(distances.begin(), distances.begin() + k, distances.end());
    double sum = 0.0;
    for (int i = 0; i < k; ++i) sum += prompt.labels(distances[i].second);
    return sum / k;
  }

 private:
  int neighbours_;
};

class ZeroPredictor final : public Predictor {
 public:
  explicit ZeroPredictor(int dim) : dim_(dim) {}
  double predict(const Prompt&, const PromptMoments&) const override { return 0.0; }
  std::optional<LinearForm> linear_form() const override {
    return LinearForm::fixed(Eigen::MatrixXd::Zero(dim_, dim_));
  }

 private:
  int dim_;
};

}  // namespace

std::span<const std::string_view> known_predictors() {
  return predictor_names;
}

void check_predictor_name(std::string_view name, const std::string& where) {
  if (std::find(predictor_names.begin(), predictor_names.end(), name) != predictor_names.end())
    return;
  const std::vector<std::string> valid(predictor_names.begin(), predictor_names.end());
  throw ConfigError(where + ": unknown predictor " + quote(std::string(name)) +
                    ", expected one of " + join(valid, ", "));
}

LinearForm LinearForm::fixed(Eigen::MatrixXd preconditioner) {
  LinearForm form{Kind::fixed, std::move(preconditioner), 0.0, true};
  for (Eigen::Index j = 0; j < form.preconditioner.cols(); ++j)
    for (Eigen::Index i = 0; i < form.preconditioner.rows(); ++i)
      if (i != j && form.preconditioner(i, j) != 0.0) form.diagonal = false;
  return form;
}

bool has_linear_form(std::string_view predictor, bool lsa_trained_without_p_q) {
  if (predictor == "lsa") return lsa_trained_without_p_q;
  return predictor != "knn3" && predictor != "gd-L" && predictor != "pgd-L";
}

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

PointModel::PointModel(const Covariance& training_covariance, int train_length,
                       const Covariance& test_covariance, int test_length, double noise_std,
                       std::optional<LsaParameters> trained)
    : PointModel(training_covariance, train_length, PromptLaw(test_covariance, noise_std),
                 test_length, std::move(trained)) {}

PointModel::PointModel(const Covariance& training_covariance, int train_length,
                       const PromptLaw& test_law, int test_length,
                       std::optional<LsaParameters> trained)
    : noise_std_(test_law.noise_std),
      trained_(std::move(trained)),
      test_law_(test_law),
      test_length_(test_length) {
  if (training_covariance.dim() != test_law.dim())
    throw ConfigError("training covariance '" + training_covariance.spec() + "' and test law '" +
                      test_law.inputs.spec() + "' have different dimensions");
  const int dim = training_covariance.dim();
  training_preconditioner_ = training_covariance.is_random()
                                 ? theory::random_exp_preconditioner(dim, train_length)
                                 : theory::gamma(training_covariance.matrix(), train_length)
                                       .llt()
                                       .solve(Eigen::MatrixXd::Identity(dim, dim));
  law_ = closed_form_law(test_law, test_length, false);
  tuning_law_ = closed_form_law(test_law, test_length, true);
  if (std::holds_alternative<std::monostate>(tuning_law_)) {
    // No closed form even for the Gaussian part: tune on the training law instead.
    tuning_law_ =
        closed_form_law(PromptLaw(training_covariance, test_law.noise_std), test_length, true);
  }
  std::visit(
      [&](const auto& law) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(law)>, std::monostate>) {
          best_preconditioner_ = theory::best_preconditioner(law);
          gd1_optimal_step_ = theory::gd1_optimal_step(law);
        }
      },
      tuning_law_);
}

std::optional<double> PointModel::risk_of(const Eigen::MatrixXd& preconditioner) const {
  return std::visit(
      [&](const auto& law) -> std::optional<double> {
        if constexpr (std::is_same_v<std::decay_t<decltype(law)>, std::monostate>)
          return std::nullopt;
        else
          return theory::preconditioner_risk(preconditioner, law);
      },
      law_);
}

void PointModel::use_deep_model(int depth, std::optional<DeepLsaParameters> parameters) {
  depth_ = depth;
  deep_ = std::move(parameters);
}

void PointModel::use_softmax_model(int depth, std::optional<SoftmaxParameters> parameters) {
  depth_ = depth;
  softmax_ = std::move(parameters);
}

void PointModel::set_tuning_address(std::uint64_t seed, std::uint64_t address) {
  tuning_seed_ = seed;
  tuning_address_ = address;
}

std::optional<double> PointModel::theory(std::string_view predictor) const {
  check_predictor_name(predictor, "theory");
  const int dim = static_cast<int>(training_preconditioner_.rows());
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(dim, dim);
  // `lsa` is compared with the global minimum that Theorem 4.1 says training reaches.
  if (predictor == "lsa" && depth_ > 0) return std::nullopt;  // a deep model: Monte Carlo only
  if (predictor == "lsa" || predictor == "lsa-theory") return risk_of(training_preconditioner_);
  if (predictor == "best-lsa") return risk_of(best_preconditioner_);
  if (predictor == "gd1") return risk_of(identity);
  if (predictor == "gd1-opt") return risk_of(gd1_optimal_step_ * identity);
  auto ols = [&]() {
    return std::visit(
        [](const auto& law) -> std::optional<double> {
          if constexpr (std::is_same_v<std::decay_t<decltype(law)>, std::monostate>)
            return std::nullopt;
          else
            return theory::ols_risk(law);
        },
        law_);
  };
  if (predictor == "zero")
    return std::visit(
        [](const auto& law) -> std::optional<double> {
          if constexpr (std::is_same_v<std::decay_t<decltype(law)>, std::monostate>)
            return std::nullopt;
          else
            return theory::zero_risk(law);
        },
        law_);
  if (predictor == "ols") return ols();
  if (predictor == "ridge" && noise_std_ == 0.0) return ols();  // penalty 0: min-norm least squares
  return std::nullopt;  // ridge with noise, knn3, non-Gaussian shifts: Monte Carlo only
}

std::unique_ptr<Predictor> PointModel::make(std::string_view predictor) const {
  check_predictor_name(predictor, "predictor");
  if (predictor == "lsa" && depth_ > 0) {
    if (softmax_) return std::make_unique<SoftmaxPredictor>(*softmax_);
    if (!deep_) throw ConfigError("predictor 'lsa' needs a trained lsa-" + std::to_string(depth_));
    return std::make_unique<DeepLsaPredictor>(*deep_);
  }
  if (predictor == "gd-L" || predictor == "pgd-L") {
    const int dim = static_cast<int>(training_preconditioner_.rows());
    const Eigen::MatrixXd preconditioner =
        predictor == "gd-L" ? Eigen::MatrixXd::Identity(dim, dim) : training_preconditioner_;
    const int steps = std::max(depth_, 1);
    const double step = tune_gradient_step(test_law_, test_length_, preconditioner, steps,
                                           tuning_seed_, tuning_address_);
    return std::make_unique<GradientStepsPredictor>(preconditioner, step, steps);
  }
  if (predictor == "lsa") {
    if (!trained_) throw ConfigError("predictor 'lsa' needs a trained model");
    return std::make_unique<TrainedLsaPredictor>(*trained_);
  }
  if (predictor == "lsa-theory")
    return std::make_unique<PreconditionedPredictor>(training_preconditioner_);
  if (predictor == "best-lsa")
    return std::make_unique<PreconditionedPredictor>(best_preconditioner_);
  const int dim = static_cast<int>(training_preconditioner_.rows());
  if (predictor == "gd1") return std::make_unique<GradientStepPredictor>(1.0, dim);
  if (predictor == "gd1-opt")
    return std::make_unique<GradientStepPredictor>(gd1_optimal_step_, dim);
  if (predictor == "ols") return std::make_unique<LeastSquaresPredictor>(0.0);
  if (predictor == "ridge") return std::make_unique<LeastSquaresPredictor>(ridge_penalty());
  if (predictor == "knn3") return std::make_unique<NearestNeighbourPredictor>(3);
  if (predictor == "zero") return std::make_unique<ZeroPredictor>(dim);
  // A name in predictor_names that no branch above builds: a bug, never a silent zero predictor.
  throw std::logic_error("PointModel::make: no predictor built for '" + std::string(predictor) +
                         "'");
}

}  // namespace icl
