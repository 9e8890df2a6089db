#pragma once
/// The one minibatch trainer, for every model trained on sampled prompts (ZFB's one layer by SGD
/// or Adam, the lsa-L and softmax-L-H stacks by Adam): fresh prompts addressed by (seed, setting,
/// step · batch + i), the minibatch gradient summed over fixed chunks of prompts on OpenMP threads
/// and added in chunk order (so the result does not depend on the thread count), a divergence
/// check, a step-decay schedule with optional linear warm-up, and the loss curve.
#include "core/checkpoint.hpp"
#include "core/deep_lsa.hpp"
#include "core/errors.hpp"
#include "core/lsa.hpp"
#include "core/prompt.hpp"
#include "core/softmax_attention.hpp"
#include "training/parallel_for.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace icl {

enum class Optimiser { sgd, adam };

/// What `[training]` (method sgd or adam) and `[models]` share.
struct MinibatchOptions {
  Optimiser optimiser = Optimiser::adam;
  std::uint32_t steps = 4000;
  std::uint32_t batch = 256;
  double learning_rate = 1e-3;
  double sigma = 0.05;            ///< the scale of the initial weights
  std::uint32_t decay_every = 0;  ///< multiply the rate by decay_factor every this many steps
  double decay_factor = 0.5;
  /// The rate rises linearly over the first warmup_fraction of the steps (0: no warm-up).
  double warmup_fraction = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double divergence_factor = 1e6;  ///< a minibatch loss above this times the first one diverged
};

/// The problem with a steps x batch budget, if any: the random-number counter addresses 2^32
/// training prompts per setting.
std::optional<std::string> minibatch_budget_problem(std::uint64_t steps, std::uint64_t batch);

/// How one model's training reports itself.
struct MinibatchRun {
  std::uint32_t chunk_size = 32;   ///< prompts per fixed reduction chunk
  std::uint32_t record_every = 1;  ///< steps per point of the loss curve
  std::string section;             ///< "[training]" or "[models]", named in errors
  std::string model;               ///< "lsa-2", named in the divergence message ("" for ZFB's)
};

/// A model's parameters as a list of (W^{PV}, W^{KQ}) pairs: ZFB's one layer is one pair.
inline std::span<LsaParameters> weight_pairs(LsaParameters& p) {
  return {&p, 1};
}
inline std::span<const LsaParameters> weight_pairs(const LsaParameters& p) {
  return {&p, 1};
}
inline std::span<LsaParameters> weight_pairs(DeepLsaParameters& p) {
  return p.layers;
}
inline std::span<const LsaParameters> weight_pairs(const DeepLsaParameters& p) {
  return p.layers;
}
inline std::span<LsaParameters> weight_pairs(SoftmaxParameters& p) {
  return p.weights;
}
inline std::span<const LsaParameters> weight_pairs(const SoftmaxParameters& p) {
  return p.weights;
}

/// Everything a minibatch run carries from one step to the next: training to step s, saving
/// this, and continuing to step t gives the same bits as training to t at once (successive
/// halving continues its candidates this way).
template <typename Parameters>
struct MinibatchState {
  Parameters parameters;
  Parameters first, second;  ///< Adam's moments (zero for SGD)
  std::uint32_t step = 0;    ///< steps taken
  double initial_loss = NAN, last_finite_loss = NAN;
  double loss_since_record = 0.0;  ///< the loss curve's running sum since its last point
  std::uint32_t steps_since_record = 0;

  /// The state before the first step, from initial parameters.
  static MinibatchState start(Parameters initial) {
    MinibatchState state;
    state.first = initial;
    for (auto& pair : weight_pairs(state.first)) {
      pair.value_projection.setZero();
      pair.key_query.setZero();
    }
    state.second = state.first;
    state.parameters = std::move(initial);
    return state;
  }
};

/// Advance `state` to step `until` (at most options.steps) of the run that `options` describes:
/// the warm-up and the schedule are those of the whole run, so stopping early and continuing
/// later changes nothing. `sampler.sample(seed, setting, index, prompt)` fills a Prompt (a
/// PromptSampler, or the one layer's CompressedPromptSampler); `loss_gradient(prompt,
/// parameters, gradient)` adds one prompt's gradient of ½(ŷ − y)² to `gradient` and returns
/// ½(ŷ − y)² (or, given a span of prompts, does so for the chunk's prompts in order and returns
/// the sum); `record(step, mean loss since the last record, parameters)` is called every
/// `run.record_every` steps and after the run's last step. Throws ConfigError for an impossible budget, NumericalError on divergence, Interrupted
/// on a stop (core/checkpoint.hpp).
template <typename Parameters, typename Sampler, typename LossGradient, typename Record>
void advance_minibatch(MinibatchState<Parameters>& state, std::uint32_t until,
                       const Sampler& sampler, std::uint64_t seed, std::uint64_t setting,
                       const MinibatchOptions& options, const MinibatchRun& run,
                       const LossGradient& loss_gradient, const Record& record) {
  if (auto problem = minibatch_budget_problem(options.steps, options.batch))
    throw ConfigError(run.section + " " + *problem);
  auto set_zero = [](Parameters& p) {
    for (auto& pair : weight_pairs(p)) {
      pair.value_projection.setZero();
      pair.key_query.setZero();
    }
  };
  Parameters& parameters = state.parameters;
  Parameters& first = state.first;
  Parameters& second = state.second;
  Parameters zero = parameters;
  set_zero(zero);
  const std::uint32_t chunks = (options.batch + run.chunk_size - 1) / run.chunk_size;
  std::vector<Parameters> chunk_gradients(chunks, zero);
  std::vector<double> chunk_losses(chunks);
  double& initial_loss = state.initial_loss;
  double& last_finite_loss = state.last_finite_loss;
  double& loss_since_record = state.loss_since_record;
  std::uint32_t& steps_since_record = state.steps_since_record;
  const char* activity =
      options.optimiser == Optimiser::adam ? "training (Adam)" : "training (SGD)";
  // A loss_gradient that takes a whole chunk of prompts (the batched stacks) is called once per
  // chunk; one that takes a prompt, once per prompt in order.
  constexpr bool chunk_wise = std::is_invocable_v<const LossGradient&, std::span<const Prompt>,
                                                  const Parameters&, Parameters&>;

  for (std::uint32_t& step = state.step; step < std::min(until, options.steps);) {
    checkpoint(activity, step, options.steps);
    // Chunk c holds the batch's prompts [c · chunk_size, min((c + 1) · chunk_size, batch)).
    const auto chunk_prompts = [&](std::int64_t chunk) {
      chunk_gradients[static_cast<std::size_t>(chunk)] = zero;
      const std::uint32_t begin = static_cast<std::uint32_t>(chunk) * run.chunk_size;
      return std::pair{begin, std::min(begin + run.chunk_size, options.batch)};
    };
    if constexpr (chunk_wise) {
      parallel_for<std::vector<Prompt>>(
          chunks, LoopSchedule::equal_blocks,
          [&](std::int64_t chunk, std::vector<Prompt>& prompts) {
            const auto [begin, end] = chunk_prompts(chunk);
            prompts.resize(end - begin);
            for (std::uint32_t i = begin; i < end; ++i)
              sampler.sample(seed, setting, step * options.batch + i, prompts[i - begin]);
            chunk_losses[static_cast<std::size_t>(chunk)] =
                loss_gradient(std::span<const Prompt>(prompts), std::as_const(parameters),
                              chunk_gradients[static_cast<std::size_t>(chunk)]);
          });
    } else {
      parallel_for<Prompt>(
          chunks, LoopSchedule::equal_blocks, [&](std::int64_t chunk, Prompt& prompt) {
            const auto [begin, end] = chunk_prompts(chunk);
            double loss = 0.0;
            for (std::uint32_t i = begin; i < end; ++i) {
              sampler.sample(seed, setting, step * options.batch + i, prompt);
              loss += loss_gradient(prompt, parameters,
                                    chunk_gradients[static_cast<std::size_t>(chunk)]);
            }
            chunk_losses[static_cast<std::size_t>(chunk)] = loss;
          });
    }

    // Reduce in chunk order: the sum does not depend on which thread computed which chunk.
    Parameters gradient = zero;
    double loss = 0.0;
    for (std::uint32_t chunk = 0; chunk < chunks; ++chunk) {
      auto sum = weight_pairs(gradient);
      const auto part = weight_pairs(chunk_gradients[chunk]);
      for (std::size_t k = 0; k < sum.size(); ++k) {
        sum[k].value_projection += part[k].value_projection;
        sum[k].key_query += part[k].key_query;
      }
      loss += chunk_losses[chunk];
    }
    loss /= options.batch;

    if (step == 0) initial_loss = std::max(loss, 1e-300);
    if (!std::isfinite(loss) || loss > options.divergence_factor * initial_loss) {
      std::ostringstream message;
      message << "training " << (run.model.empty() ? "" : run.model + " ") << "diverged at step "
              << step << ": minibatch loss " << loss << ", last finite loss " << last_finite_loss
              << " (lower " << run.section << " learning_rate = " << options.learning_rate << ")";
      throw NumericalError(message.str());
    }
    last_finite_loss = loss;
    loss_since_record += loss;
    ++steps_since_record;

    double rate = options.learning_rate;
    if (options.decay_every > 0)
      rate *= std::pow(options.decay_factor, static_cast<double>(step / options.decay_every));
    const double warmup_steps = options.warmup_fraction * options.steps;
    if (step < warmup_steps) rate *= (step + 1.0) / warmup_steps;
    const double t = step + 1.0;
    const double correction1 = 1.0 - std::pow(options.adam_beta1, t);
    const double correction2 = 1.0 - std::pow(options.adam_beta2, t);
    auto update = [&](Eigen::MatrixXd& theta, const Eigen::MatrixXd& sum, Eigen::MatrixXd& m,
                      Eigen::MatrixXd& v) {
      const Eigen::MatrixXd mean = sum / options.batch;
      if (options.optimiser == Optimiser::sgd) {
        theta -= rate * mean;
        return;
      }
      m = options.adam_beta1 * m + (1.0 - options.adam_beta1) * mean;
      v = options.adam_beta2 * v + (1.0 - options.adam_beta2) * mean.cwiseAbs2();
      theta.array() -= rate * (m.array() / correction1) /
                       ((v.array() / correction2).sqrt() + options.adam_epsilon);
    };
    auto p = weight_pairs(parameters);
    const auto g = weight_pairs(std::as_const(gradient));
    auto m = weight_pairs(first);
    auto v = weight_pairs(second);
    for (std::size_t k = 0; k < p.size(); ++k) {
      update(p[k].value_projection, g[k].value_projection, m[k].value_projection,
             v[k].value_projection);
      update(p[k].key_query, g[k].key_query, m[k].key_query, v[k].key_query);
    }

    ++step;
    if (step % run.record_every == 0 || step == options.steps) {
      record(step, loss_since_record / steps_since_record, std::as_const(parameters));
      loss_since_record = 0.0;
      steps_since_record = 0;
    }
  }
}

/// Train `parameters` (initialised by the caller) for the whole run: advance_minibatch from the
/// start to options.steps.
template <typename Parameters, typename Sampler, typename LossGradient, typename Record>
Parameters train_minibatch(Parameters parameters, const Sampler& sampler, std::uint64_t seed,
                           std::uint64_t setting, const MinibatchOptions& options,
                           const MinibatchRun& run, const LossGradient& loss_gradient,
                           const Record& record) {
  auto state = MinibatchState<Parameters>::start(std::move(parameters));
  advance_minibatch(state, options.steps, sampler, seed, setting, options, run, loss_gradient,
                    record);
  return std::move(state.parameters);
}

}  // namespace icl
