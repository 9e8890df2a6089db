#pragma once
/// Linear-regression prompts (docs/mathematics.md section 1): task w ~ N(0, I), inputs x_i and
/// query x_q iid N(0, Λ), labels y_i = <w, x_i> (+ optional noise).
#include "core/covariance.hpp"
#include "core/rng.hpp"
#include "core/shift.hpp"
#include "core/task.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <optional>

namespace icl {

/// One sampled prompt. Storage is reused between draws.
struct Prompt {
  Eigen::MatrixXd inputs;  ///< d x n, column i is x_i
  Eigen::VectorXd labels;  ///< n, y_i
  Eigen::VectorXd query;   ///< d, x_q
  double query_label = 0;  ///< y_q, the target the risk is measured against (noisy if noise > 0)
  Eigen::VectorXd task;    ///< d, w
  Eigen::VectorXd random_diagonal;  ///< Λ_τ for random covariances, empty otherwise

  int dim() const { return static_cast<int>(query.size()); }
  int length() const { return static_cast<int>(labels.size()); }
};

/// Statistics of a prompt that the linear predictors need (docs/mathematics.md section 2):
/// S = (1/n) Σ x_i x_iᵀ is not formed here because most predictors need only h.
struct PromptMoments {
  Eigen::VectorXd label_weighted_mean;  ///< h = (1/n) Σ y_i x_i
  double label_second_moment = 0;       ///< s_yy = (1/n) Σ y_i²
};
void compute_moments(const Prompt& prompt, PromptMoments& moments);

enum class QueryRule { independent, orthogonal, overlapping };

/// Everything that defines how a prompt is drawn: the training law, or the training law changed by
/// a test-time shift.
struct PromptLaw {
  explicit PromptLaw(Covariance covariance, double noise = 0.0)
      : inputs(std::move(covariance)), noise_std(noise) {}

  /// The test law of a grid point: `training` changed by `shift`. `seed` fixes the rotations of
  /// skewed and half-subspace. Throws ConfigError for a shift spec that does not fit.
  static PromptLaw shifted(const Covariance& training, const Shift& shift, std::uint64_t seed,
                           const Task& task = Task());
  /// Inputs from `covariance`, labels by `task` (its noise included): a training law.
  static PromptLaw unshifted(const Covariance& covariance, const Task& task);

  Covariance inputs;                           ///< law of x_1 … x_n (and of x_q unless set below)
  std::optional<Covariance> query_covariance;  ///< a separate law of x_q
  double query_scale = 1.0;                    ///< x_q ↦ c x_q
  Eigen::MatrixXd transform;                   ///< x ↦ A x for every input (empty: none)
  Task task;                                   ///< how labels depend on inputs
  double task_scale = 1.0;                     ///< noise-free labels ↦ a · labels (w ↦ a w)
  double noise_std = 0.0;  ///< label noise on prompt and query labels (task's and shift's combined)
  bool random_quadrants = false;  ///< prompt x ↦ |x| ⊙ s, s one sign pattern per prompt
  QueryRule query_rule = QueryRule::independent;

  int dim() const { return inputs.dim(); }
  /// True when the law is Gaussian with x_q independent of the prompt (closed forms may exist).
  bool is_gaussian_independent() const {
    return !random_quadrants && query_rule == QueryRule::independent;
  }
};

/// The first draws of prompt `prompt_index`, shared by every sampler of a law: its task (into
/// `draw`, with w in out.task) and, for a random covariance, its Λ_τ (out.random_diagonal).
void draw_task_and_covariance(const PromptLaw& law, std::uint64_t seed, std::uint64_t point,
                              std::uint32_t prompt_index, TaskDraw& draw, Prompt& out);

/// Draws prompts of one length from one law, addressed by (seed, point, prompt index).
class PromptSampler {
 public:
  PromptSampler(PromptLaw law, int length);
  /// `noise_std` is the standard deviation of the label noise on prompt and query labels.
  PromptSampler(const Covariance& covariance, int length, double noise_std);

  void sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
              Prompt& out) const;

  const PromptLaw& law() const { return law_; }
  int length() const { return length_; }

 private:
  PromptLaw law_;
  int length_;
};

/// The embedding E = [x_1 ... x_n x_q; y_1 ... y_n 0] ∈ R^{(d+1)x(n+1)} (docs/mathematics.md
/// section 1).
Eigen::MatrixXd embed(const Prompt& prompt);

}  // namespace icl
