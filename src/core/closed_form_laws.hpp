#pragma once
/// From a prompt law (core/prompt.hpp) to the law the closed forms of core/theory.hpp take, when
/// there is one; the task moments of Theorem 4.2 for nonlinear tasks (docs/mathematics.md).
#include "core/prompt.hpp"
#include "core/task.hpp"
#include "core/theory.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace icl {

/// The closed-form description of a test law, when there is one: Gaussian with the query
/// independent of the prompt (fixed covariance), or random-exp with a query from the same Λ_τ.
using ClosedFormLaw = std::variant<std::monostate, theory::GaussianTestLaw,
                                   theory::RandomExpTestLaw, theory::TaskMomentLaw>;
ClosedFormLaw closed_form_law(const PromptLaw& law, int test_length, bool ignore_query_rule);

/// The task moments of Theorem 4.2 on inputs N(0, Λ) with label noise s: in closed form for relu
/// and quadratic, by a separately seeded Monte Carlo for tanh and relu-2nn (result files mark those
/// theory values as such, see theory_source).
inline constexpr std::uint32_t task_moment_samples = 400000;
inline constexpr std::uint64_t task_moment_seed = 0x5eed7a5cull;
/// The Monte Carlo estimate itself (noise-free labels, label scale 1), for any task: fills A, S and
/// the best linear error of `law`.
void estimate_task_moments(const Task& task, const Eigen::MatrixXd& covariance,
                           theory::TaskMomentLaw& law);
/// "closed-form", "monte-carlo" (task moments estimated) or "none", for a test law.
std::string theory_source(const PromptLaw& law, int test_length);
std::optional<theory::TaskMomentLaw> task_moment_law(const Task& task,
                                                     const Eigen::MatrixXd& covariance,
                                                     int test_length, double noise_std,
                                                     double label_scale);

}  // namespace icl
