#pragma once
/// Baselines for the deeper models (issue 11): k steps of gradient descent on the prompt's squared
/// loss from w = 0, plain (P = I) or preconditioned (P fixed),
///   w_{j+1} = w_j + η P (h − S w_j),   ŷ = w_kᵀ x_q,
/// with the step η tuned on separate prompts of the *training* law at the training length N (a log
/// grid, then golden-section refinement of the empirical risk): the baselines get what the models
/// get, one setting's prompts, and the same step at every test point. L layers of linear attention
/// can implement exactly this (Ahn et al. 2023), so they are what lsa-L is measured against at
/// k = L, and the hand-built weights with this step are the reference a trained lsa-L's loss is
/// reported beside.
#include "core/prompt.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <string>

namespace icl {

/// ŷ of k preconditioned gradient steps of size `step`; `h` is the prompt's (1/M) Σ y_i x_i.
double gradient_steps_predict(const Prompt& prompt, const Eigen::VectorXd& h,
                              const Eigen::MatrixXd& preconditioner, double step, int steps);

inline constexpr std::uint32_t step_tuning_prompts = 1000;

/// The step η minimising the empirical risk of k steps on `step_tuning_prompts` prompts of `law`
/// with `length` examples, addressed by (seed, tuning address): prompts the evaluation never sees.
double tune_gradient_step(const PromptLaw& law, int length, const Eigen::MatrixXd& preconditioner,
                          int steps, std::uint64_t seed, std::uint64_t tuning_address);

/// What the one-layer model converges to when trained on prompts of length `train_length` from
/// `covariance`: Γ_N⁻¹ (Theorem 4.1), or V_rdm for random-exp (Theorem 4.5). pgd-L preconditions
/// with it.
Eigen::MatrixXd training_preconditioner(const Covariance& covariance, int train_length);

/// Where the step of k gradient steps is tuned for a training setting: one address per (d, N,
/// training covariance, task, k), so every test point of the setting, and the setting's reference
/// weights, use the same step.
std::uint64_t step_tuning_address(int dim, int train_length, const std::string& covariance,
                                  const std::string& task, int steps);

}  // namespace icl
