#pragma once
/// Predictors evaluated on a sampled test prompt (names as in the README), and the closed-form risk
/// of each one where a closed form exists.
#include "core/closed_form_laws.hpp"
#include "core/covariance.hpp"
#include "core/deep_lsa.hpp"
#include "core/lsa.hpp"
#include "core/prompt.hpp"
#include "core/softmax_attention.hpp"
#include "core/theory.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace icl {

/// Every predictor name the program knows, in the order they are reported.
std::span<const std::string_view> known_predictors();
/// Throws ConfigError naming `name` and listing the valid names.
void check_predictor_name(std::string_view name, const std::string& where);

/// A predictor of the form ŷ = hᵀ V x_q where V depends on the prompt only through
/// S = (1/M) Σ x_i x_iᵀ: either a fixed V, or the least-squares family V = (S + (λ/M) I)^+ (ols
/// with λ = 0, ridge). Such predictors can be evaluated from sufficient statistics, and their
/// squared error averaged over w, the noise and x_q in closed form (src/evaluation/sufficient.hpp).
struct LinearForm {
  enum class Kind { fixed, least_squares };
  Kind kind = Kind::fixed;
  Eigen::MatrixXd preconditioner;  ///< V, for fixed
  double penalty = 0;              ///< λ, for least_squares
  bool diagonal = false;           ///< V is diagonal (set by `fixed`): O(d) conditional risks

  static LinearForm fixed(Eigen::MatrixXd preconditioner);
  static LinearForm least_squares(double penalty) { return {Kind::least_squares, {}, penalty}; }
};

class Predictor {
 public:
  virtual ~Predictor() = default;
  /// ŷ for the prompt's query. `moments` are compute_moments(prompt).
  virtual double predict(const Prompt& prompt, const PromptMoments& moments) const = 0;
  /// The predictor as a LinearForm, when it is one.
  virtual std::optional<LinearForm> linear_form() const { return std::nullopt; }
};

/// True when `predictor` is, by its name, a LinearForm (`lsa` only when its training leaves
/// p = q = 0: gradient flow and the closed form do, stochastic training does not).
bool has_linear_form(std::string_view predictor, bool lsa_trained_without_p_q);

/// A one-layer LSA trained on prompts of length N from a covariance, tested on prompts of length M
/// from a (possibly shifted) law: what every predictor and closed form of one grid point needs.
class PointModel {
 public:
  /// `trained` is the `lsa` model's parameters when there is one.
  PointModel(const Covariance& training_covariance, int train_length, const PromptLaw& test_law,
             int test_length, std::optional<LsaParameters> trained = std::nullopt);
  /// In distribution, with label noise: the test law is the covariance itself.
  PointModel(const Covariance& training_covariance, int train_length,
             const Covariance& test_covariance, int test_length, double noise_std,
             std::optional<LsaParameters> trained = std::nullopt);

  /// The gradient-flow limit's preconditioner: Γ_N^{-1} (Theorem 4.1), or V_rdm for random-exp.
  const Eigen::MatrixXd& training_preconditioner() const { return training_preconditioner_; }
  const Eigen::MatrixXd& best_preconditioner() const { return best_preconditioner_; }
  double gd1_optimal_step() const { return gd1_optimal_step_; }
  double ridge_penalty() const { return noise_std_ * noise_std_; }

  /// The point's `lsa` is an lsa-L model (depth >= 1): no closed form, and `make("lsa")` runs
  /// `parameters` (when given). gd-L and pgd-L then take L steps (1 for ZFB's one layer).
  void use_deep_model(int depth, std::optional<DeepLsaParameters> parameters = std::nullopt);
  /// The same for a softmax-L-H model.
  void use_softmax_model(int depth, std::optional<SoftmaxParameters> parameters);
  /// gd-L and pgd-L tune their step on prompts of `training_law` at the training length, drawn at
  /// (seed, address) (never the evaluation's). Without this call: the training covariance with
  /// the test law's noise and a linear task.
  void set_step_tuning(PromptLaw training_law, std::uint64_t seed, std::uint64_t address);

  /// The closed-form risk E(ŷ − y_q)² of a predictor, if it has one here.
  std::optional<double> theory(std::string_view predictor) const;
  /// A predictor ready to run on prompts of this point. Throws ConfigError for an unknown name
  /// and for `lsa` without a trained model.
  std::unique_ptr<Predictor> make(std::string_view predictor) const;

 private:
  friend struct PredictorRegistry;  // the predictors' table (predictors.cpp) builds from these
  int dim() const { return static_cast<int>(training_preconditioner_.rows()); }
  std::optional<double> risk_of(const Eigen::MatrixXd& preconditioner) const;

  using Law = ClosedFormLaw;
  /// The closed-form law of the test prompts (monostate: none), and the Gaussian part of it that
  /// tunes gd1-opt and best-lsa when the shift itself has no closed form.
  Law law_, tuning_law_;
  double noise_std_;
  Eigen::MatrixXd training_preconditioner_;
  Eigen::MatrixXd best_preconditioner_;
  double gd1_optimal_step_;
  std::optional<LsaParameters> trained_;
  int depth_ = 0;
  std::optional<DeepLsaParameters> deep_;
  std::optional<SoftmaxParameters> softmax_;
  PromptLaw training_law_;
  int train_length_;
  std::uint64_t tuning_seed_ = 1, tuning_address_ = 0x7a11e5ull;
};

}  // namespace icl
