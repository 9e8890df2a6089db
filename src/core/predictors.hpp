#pragma once
/// Predictors evaluated on a sampled test prompt (DESIGN.md names), and the closed-form risk of each
/// one where a closed form exists.
#include "core/covariance.hpp"
#include "core/lsa.hpp"
#include "core/prompt.hpp"
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

class Predictor {
 public:
  virtual ~Predictor() = default;
  /// ŷ for the prompt's query. `moments` are compute_moments(prompt).
  virtual double predict(const Prompt& prompt, const PromptMoments& moments) const = 0;
};

/// A one-layer LSA trained on prompts of length N from a covariance, tested on prompts of length M
/// (with label noise s): what every predictor and closed form of one grid point needs.
class PointModel {
 public:
  /// `seed` fixes rotated covariances; `trained` is the `lsa` model's parameters when there is one.
  PointModel(const Covariance& training_covariance, int train_length,
             const Covariance& test_covariance, int test_length, double noise_std,
             std::optional<LsaParameters> trained = std::nullopt);

  /// The gradient-flow limit's preconditioner: Γ_N^{-1} (Theorem 4.1), or V_rdm for random-exp.
  const Eigen::MatrixXd& training_preconditioner() const { return training_preconditioner_; }
  const Eigen::MatrixXd& best_preconditioner() const { return best_preconditioner_; }
  double gd1_optimal_step() const { return gd1_optimal_step_; }
  double ridge_penalty() const { return noise_std_ * noise_std_; }

  /// The closed-form risk E(ŷ − y_q)² of a predictor, if it has one here.
  std::optional<double> theory(std::string_view predictor) const;
  /// A predictor ready to run on prompts of this point. Throws ConfigError for `lsa` without a
  /// trained model.
  std::unique_ptr<Predictor> make(std::string_view predictor) const;

 private:
  double risk_of(const Eigen::MatrixXd& preconditioner) const;

  std::variant<theory::GaussianTestLaw, theory::RandomExpTestLaw> law_;
  double noise_std_;
  Eigen::MatrixXd training_preconditioner_;
  Eigen::MatrixXd best_preconditioner_;
  double gd1_optimal_step_;
  std::optional<LsaParameters> trained_;
};

}  // namespace icl
