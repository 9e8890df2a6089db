#pragma once
/// Test-time distribution shifts (docs/mathematics.md section 9; ZFB's task, query and covariate
/// kinds, and Garg et al.'s named evaluations). A shift changes only the test prompts, never
/// training. The written definition of each is in `shift_catalogue()` (printed by `icl-study
/// shifts`).
#include <string>
#include <string_view>
#include <vector>

namespace icl {

/// The range of a shift's scale or noise parameter (and of a task's noise): the squared errors
/// stay finite in double precision.
inline constexpr double shift_parameter_min = 1e-6;
inline constexpr double shift_parameter_max = 1e6;

enum class ShiftKind {
  none,
  task_scale,        ///< task-scale=a, scale-y=a: w ↦ a w
  noisy,             ///< noisy=s (noisy: s = 1): label noise N(0, s²) on prompt and query labels
  query_scale,       ///< query-scale=c: x_q ↦ c x_q
  query_cov,         ///< query-cov=<spec>: x_q ~ N(0, Λ_q)
  scale_x,           ///< scale-x=c: every x ↦ c x
  test_cov,          ///< test-cov=<spec>: prompt and query from N(0, Λ_test)
  random_cov_scale,  ///< random-cov-scale=c: Λ_τ = c diag(Exp(1)) per test prompt
  skewed,            ///< x ↦ A x, A = U diag(λ) Uᵀ, λ_i ∝ 1/(i+1), tr(AΛA) = d
  half_subspace,     ///< as skewed with λ = (1,…,1,0,…,0), ⌊d/2⌋ ones
  random_quadrants,  ///< prompt x ↦ |x| ⊙ s, one random sign pattern s per prompt; query unshifted
  orthogonal_query,   ///< x_q projected off span(x_1…x_M), rescaled to its norm
  overlapping_query,  ///< x_q is a copy of a uniformly chosen prompt input
};

/// ZFB's three kinds, for reports.
enum class ShiftFamily { none, task, query, covariate };

struct Shift {
  std::string text;  ///< as written in the config
  ShiftKind kind = ShiftKind::none;
  double value = 1.0;  ///< a, s or c
  std::string spec;    ///< covariance spec of query-cov / test-cov
  ShiftFamily family = ShiftFamily::none;

  /// Throws ConfigError naming the text and listing the valid shifts.
  static Shift parse(std::string_view text);
};

struct ShiftDescription {
  std::string syntax;
  ShiftFamily family;
  std::string definition;
};
const std::vector<ShiftDescription>& shift_catalogue();
const char* to_string(ShiftFamily family);

}  // namespace icl
