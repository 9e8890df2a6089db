#include "core/predictors.hpp"

#include "core/baselines.hpp"
#include "core/errors.hpp"
#include "core/parse.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <vector>

namespace icl {
namespace {

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

LinearForm LinearForm::fixed(Eigen::MatrixXd preconditioner) {
  LinearForm form{Kind::fixed, std::move(preconditioner), 0.0, true};
  for (Eigen::Index j = 0; j < form.preconditioner.cols(); ++j)
    for (Eigen::Index i = 0; i < form.preconditioner.rows(); ++i)
      if (i != j && form.preconditioner(i, j) != 0.0) form.diagonal = false;
  return form;
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
      training_law_(training_covariance, test_law.noise_std),
      train_length_(train_length) {
  if (training_covariance.dim() != test_law.dim())
    throw ConfigError("training covariance '" + training_covariance.spec() + "' and test law '" +
                      test_law.inputs.spec() + "' have different dimensions");
  training_preconditioner_ = icl::training_preconditioner(training_covariance, train_length);
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

void PointModel::set_step_tuning(PromptLaw training_law, std::uint64_t seed,
                                 std::uint64_t address) {
  training_law_ = std::move(training_law);
  tuning_seed_ = seed;
  tuning_address_ = address;
}

/// The one list of predictors, in the order they are reported: each one's name, whether it is a
/// LinearForm, how it is built for a point and its closed form (none: Monte Carlo only).
struct PredictorRegistry {
  enum class Form { always, never, lsa };  ///< lsa: when training leaves p = q = 0
  struct Entry {
    std::string_view name;
    Form form;
    std::unique_ptr<Predictor> (*make)(const PointModel&);
    std::optional<double> (*theory)(const PointModel&);
  };

  static Eigen::MatrixXd identity(const PointModel& m) {
    const auto dim = m.training_preconditioner_.rows();
    return Eigen::MatrixXd::Identity(dim, dim);
  }
  template <typename Function>
  static std::optional<double> of_law(const PointModel& m, Function function) {
    return std::visit(
        [&](const auto& law) -> std::optional<double> {
          if constexpr (std::is_same_v<std::decay_t<decltype(law)>, std::monostate>)
            return std::nullopt;
          else
            return function(law);
        },
        m.law_);
  }
  /// k = max(L, 1) steps of (preconditioned) GD with the step tuned on prompts of the training
  /// law at the training length, as the models are trained (not on the test law or length).
  static std::unique_ptr<Predictor> gradient_steps(const PointModel& m,
                                                   Eigen::MatrixXd preconditioner) {
    const int steps = std::max(m.depth_, 1);
    const double step = tune_gradient_step(m.training_law_, m.train_length_, preconditioner, steps,
                                           m.tuning_seed_, m.tuning_address_);
    return std::make_unique<GradientStepsPredictor>(std::move(preconditioner), step, steps);
  }

  static std::unique_ptr<Predictor> make_lsa(const PointModel& m) {
    if (m.depth_ > 0) {
      if (m.softmax_) return std::make_unique<SoftmaxPredictor>(*m.softmax_);
      if (!m.deep_)
        throw ConfigError("predictor 'lsa' needs a trained lsa-" + std::to_string(m.depth_));
      return std::make_unique<DeepLsaPredictor>(*m.deep_);
    }
    if (!m.trained_) throw ConfigError("predictor 'lsa' needs a trained model");
    return std::make_unique<TrainedLsaPredictor>(*m.trained_);
  }
  /// `lsa` is compared with the global minimum that Theorem 4.1 says training reaches; a deep
  /// model has no closed form.
  static std::optional<double> theory_lsa(const PointModel& m) {
    if (m.depth_ > 0) return std::nullopt;
    return m.risk_of(m.training_preconditioner_);
  }
  static std::optional<double> theory_ols(const PointModel& m) {
    return of_law(m, [](const auto& law) { return theory::ols_risk(law); });
  }

  static constexpr Entry entries[] = {
      {"lsa", Form::lsa, make_lsa, theory_lsa},
      {"lsa-theory", Form::always,
       [](const PointModel& m) -> std::unique_ptr<Predictor> {
         return std::make_unique<PreconditionedPredictor>(m.training_preconditioner_);
       },
       [](const PointModel& m) { return m.risk_of(m.training_preconditioner_); }},
      {"ols", Form::always,
       [](const PointModel&) -> std::unique_ptr<Predictor> {
         return std::make_unique<LeastSquaresPredictor>(0.0);
       },
       theory_ols},
      {"ridge", Form::always,
       [](const PointModel& m) -> std::unique_ptr<Predictor> {
         return std::make_unique<LeastSquaresPredictor>(m.ridge_penalty());
       },
       // Penalty 0 without noise: min-norm least squares. With noise: Monte Carlo only.
       [](const PointModel& m) {
         return m.noise_std_ == 0.0 ? theory_ols(m) : std::optional<double>();
       }},
      {"gd1", Form::always,
       [](const PointModel& m) -> std::unique_ptr<Predictor> {
         return std::make_unique<GradientStepPredictor>(1.0, m.dim());
       },
       [](const PointModel& m) { return m.risk_of(identity(m)); }},
      {"gd1-opt", Form::always,
       [](const PointModel& m) -> std::unique_ptr<Predictor> {
         return std::make_unique<GradientStepPredictor>(m.gd1_optimal_step_, m.dim());
       },
       [](const PointModel& m) { return m.risk_of(m.gd1_optimal_step_ * identity(m)); }},
      {"gd-L", Form::never, [](const PointModel& m) { return gradient_steps(m, identity(m)); },
       nullptr},
      {"pgd-L", Form::never,
       [](const PointModel& m) { return gradient_steps(m, m.training_preconditioner_); }, nullptr},
      {"best-lsa", Form::always,
       [](const PointModel& m) -> std::unique_ptr<Predictor> {
         return std::make_unique<PreconditionedPredictor>(m.best_preconditioner_);
       },
       [](const PointModel& m) { return m.risk_of(m.best_preconditioner_); }},
      {"zero", Form::always,
       [](const PointModel& m) -> std::unique_ptr<Predictor> {
         return std::make_unique<ZeroPredictor>(m.dim());
       },
       [](const PointModel& m) {
         return of_law(m, [](const auto& law) { return theory::zero_risk(law); });
       }},
      {"knn3", Form::never,
       [](const PointModel&) -> std::unique_ptr<Predictor> {
         return std::make_unique<NearestNeighbourPredictor>(3);
       },
       nullptr},
  };

  static const Entry* find(std::string_view name) {
    for (const auto& entry : entries)
      if (entry.name == name) return &entry;
    return nullptr;
  }
  /// The entry of `name`; ConfigError naming `where` and listing the valid names otherwise.
  static const Entry& at(std::string_view name, const std::string& where) {
    if (const Entry* entry = find(name)) return *entry;
    std::vector<std::string> valid;
    for (const auto& entry : entries) valid.emplace_back(entry.name);
    throw ConfigError(where + ": unknown predictor " + quote(std::string(name)) +
                      ", expected one of " + join(valid, ", "));
  }
};

std::span<const std::string_view> known_predictors() {
  static const auto names = [] {
    std::vector<std::string_view> list;
    for (const auto& entry : PredictorRegistry::entries) list.push_back(entry.name);
    return list;
  }();
  return names;
}

void check_predictor_name(std::string_view name, const std::string& where) {
  PredictorRegistry::at(name, where);
}

bool has_linear_form(std::string_view predictor, bool lsa_trained_without_p_q) {
  switch (PredictorRegistry::at(predictor, "predictor").form) {
    case PredictorRegistry::Form::always:
      return true;
    case PredictorRegistry::Form::never:
      return false;
    case PredictorRegistry::Form::lsa:
      return lsa_trained_without_p_q;
  }
  return false;
}

std::optional<double> PointModel::theory(std::string_view predictor) const {
  const auto& entry = PredictorRegistry::at(predictor, "theory");
  return entry.theory ? entry.theory(*this) : std::nullopt;
}

std::unique_ptr<Predictor> PointModel::make(std::string_view predictor) const {
  return PredictorRegistry::at(predictor, "predictor").make(*this);
}

}  // namespace icl
