#include "training/stochastic.hpp"

#include "training/compressed_prompts.hpp"
#include "training/initialisation.hpp"
#include "training/reduced_loss.hpp"

#include <algorithm>

namespace icl {

double accumulate_prompt_gradient(const Prompt& prompt, const LsaParameters& parameters,
                                  LsaParameters& gradient) {
  return accumulate_columns_gradient(prompt, prompt.length(), parameters, gradient);
}

double accumulate_columns_gradient(const Prompt& prompt, double n,
                                   const LsaParameters& parameters, LsaParameters& gradient) {
  const int dim = prompt.dim();
  // G = E Eᵀ / n over all n + 1 columns (no mask: the query column counts; its label slot is 0)
  // is only ever applied to vectors, so it is never formed: G v = E (Eᵀ v) / n costs 2(d+1)(n+1)
  // multiply-adds where forming G costs (d+1)²(n+1).
  thread_local Eigen::VectorXd columns, kq_z, g_kq_z, g_r;
  const auto apply_g = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) {
    columns.noalias() = prompt.inputs.transpose() * v.head(dim);  // Eᵀ v over the prompt columns
    columns += prompt.labels * v(dim);
    const double query_column = prompt.query.dot(v.head(dim));
    out.resize(dim + 1);
    out.head(dim).noalias() = prompt.inputs * columns;
    out.head(dim) += prompt.query * query_column;
    out(dim) = prompt.labels.dot(columns);
    out /= n;
  };
  const auto r = parameters.value_projection.row(dim).transpose();
  // W^{KQ} z with z = (x_q, 0).
  kq_z.noalias() = parameters.key_query.leftCols(dim) * prompt.query;
  apply_g(kq_z, g_kq_z);
  const double error = r.dot(g_kq_z) - prompt.query_label;
  // ∂ŷ/∂W^{PV} = e (G W^{KQ} z)ᵀ (last row only); ∂ŷ/∂W^{KQ} = G r zᵀ (G symmetric).
  apply_g(r, g_r);
  gradient.value_projection.row(dim) += error * g_kq_z.transpose();
  gradient.key_query.leftCols(dim).noalias() += (error * g_r) * prompt.query.transpose();
  return 0.5 * error * error;
}

MinibatchState<LsaParameters> start_stochastic(int dim, const StochasticOptions& options,
                                               std::uint64_t seed, std::uint64_t setting) {
  return MinibatchState<LsaParameters>::start(
      options.init == Initialisation::assumption33
          ? assumption33_initialisation(dim, options.sigma, seed, setting)
          : dense_gaussian_initialisation(dim, options.sigma, seed, setting));
}

void advance_stochastic(MinibatchState<LsaParameters>& state, std::uint32_t until,
                        const Covariance& covariance, int train_length,
                        const StochasticOptions& options, std::uint64_t seed, std::uint64_t setting,
                        const Task& task, std::vector<StochasticRecord>& curve) {
  const int dim = covariance.dim();
  const Eigen::MatrixXd target = ReducedLoss(covariance, train_length).target();
  const double target_norm = target.norm();
  const PromptLaw law = PromptLaw::unshifted(covariance, task);
  MinibatchRun run;
  run.chunk_size = 32;
  run.record_every = options.record_every > 0 ? options.record_every
                                              : std::max<std::uint32_t>(1, options.steps / 500);
  run.section = "[training]";
  const auto record = [&](std::uint32_t step, double loss, const LsaParameters& parameters) {
    curve.push_back({step, loss,
                     (effective_preconditioner(parameters) - target).norm() / target_norm,
                     parameters.value_projection.row(dim).head(dim).norm(),
                     parameters.key_query.row(dim).head(dim).norm()});
  };
  if (options.compressed_prompts && compressed_prompt_obstacle(law, train_length).empty()) {
    const CompressedPromptSampler sampler(law, train_length);
    const auto loss_gradient = [train_length](const Prompt& columns,
                                              const LsaParameters& parameters,
                                              LsaParameters& gradient) {
      return accumulate_columns_gradient(columns, train_length, parameters, gradient);
    };
    advance_minibatch(state, until, sampler, seed, setting, options, run, loss_gradient, record);
  } else {
    const PromptSampler sampler(law, train_length);
    advance_minibatch(state, until, sampler, seed, setting, options, run,
                      accumulate_prompt_gradient, record);
  }
}

StochasticResult train_stochastic(const Covariance& covariance, int train_length,
                                  const StochasticOptions& options, std::uint64_t seed,
                                  std::uint64_t setting, const Task& task) {
  auto state = start_stochastic(covariance.dim(), options, seed, setting);
  StochasticResult result;
  advance_stochastic(state, options.steps, covariance, train_length, options, seed, setting, task,
                     result.curve);
  result.parameters = std::move(state.parameters);
  return result;
}

}  // namespace icl
