#pragma once
/// Baselines for the deeper models (issue 11): k steps of gradient descent on the prompt's squared
/// loss from w = 0, plain (P = I) or preconditioned (P fixed),
///   w_{j+1} = w_j + η P (h − S w_j),   ŷ = w_kᵀ x_q,
/// with the step η tuned on separate prompts of the test law (a log grid, then golden-section
/// refinement of the empirical risk). L layers of linear attention can implement exactly this
/// (Ahn et al. 2023), so they are what lsa-L is measured against at k = L.
#include "core/prompt.hpp"

#include <Eigen/Core>

#include <cstdint>

namespace icl {

/// ŷ of k preconditioned gradient steps of size `step`; `h` is the prompt's (1/M) Σ y_i x_i.
double gradient_steps_predict(const Prompt& prompt, const Eigen::VectorXd& h,
                              const Eigen::MatrixXd& preconditioner, double step, int steps);

inline constexpr std::uint32_t step_tuning_prompts = 1000;

/// The step η minimising the empirical risk of k steps on `step_tuning_prompts` prompts of `law`
/// with `length` examples, addressed by (seed, tuning address): prompts the evaluation never sees.
double tune_gradient_step(const PromptLaw& law, int length, const Eigen::MatrixXd& preconditioner,
                          int steps, std::uint64_t seed, std::uint64_t tuning_address);

}  // namespace icl
