#include "training/deep_training.hpp"

#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"

#include <string>

#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>

namespace icl {
namespace {

constexpr std::uint32_t chunk_size = 16;  // prompts per fixed reduction chunk

/// Both attention stacks are lists of (W^{PV}, W^{KQ}) pairs.
std::vector<LsaParameters>& matrices(DeepLsaParameters& parameters) {
  return parameters.layers;
}
std::vector<LsaParameters>& matrices(SoftmaxParameters& parameters) {
  return parameters.weights;
}
const std::vector<LsaParameters>& matrices(const DeepLsaParameters& parameters) {
  return parameters.layers;
}
const std::vector<LsaParameters>& matrices(const SoftmaxParameters& parameters) {
  return parameters.weights;
}
double loss_gradient(const Eigen::MatrixXd& embedding, double label,
                     const DeepLsaParameters& parameters, DeepLsaParameters& gradient) {
  return deep_lsa_loss_gradient(embedding, label, parameters, gradient);
}
double loss_gradient(const Eigen::MatrixXd& embedding, double label,
                     const SoftmaxParameters& parameters, SoftmaxParameters& gradient) {
  return softmax_attention_loss_gradient(embedding, label, parameters, gradient);
}

template <typename Parameters>
void set_zero(Parameters& parameters) {
  for (auto& pair : matrices(parameters)) {
    pair.value_projection.setZero();
    pair.key_query.setZero();
  }
}

/// Apply `visit(parameter, gradient, first moment, second moment)` to every matrix of the model.
template <typename Parameters, typename Visit>
void for_each_matrix(Parameters& parameters, const Parameters& gradient, Parameters& first,
                     Parameters& second, Visit visit) {
  auto& p = matrices(parameters);
  const auto& g = matrices(gradient);
  auto& m = matrices(first);
  auto& v = matrices(second);
  for (std::size_t k = 0; k < p.size(); ++k) {
    visit(p[k].value_projection, g[k].value_projection, m[k].value_projection,
          v[k].value_projection);
    visit(p[k].key_query, g[k].key_query, m[k].key_query, v[k].key_query);
  }
}

template <typename Parameters>
TrainingResult<Parameters> train_stack(const PromptLaw& law, int train_length,
                                       const Parameters& zero, const std::string& name,
                                       const DeepTrainingOptions& options, std::uint64_t seed,
                                       std::uint64_t setting) {
  if (options.batch == 0 || options.steps == 0)
    throw ConfigError("[models] steps and batch must be positive");
  if (static_cast<std::uint64_t>(options.steps) * options.batch >
      std::numeric_limits<std::uint32_t>::max())
    throw ConfigError("[models] steps x batch exceeds the 2^32 prompts the counter addresses");
  const PromptSampler sampler(law, train_length);

  TrainingResult<Parameters> result;
  Parameters parameters = zero;
  {
    RandomStream random(seed, {setting, 1, Stream::parameters});
    for (auto& layer : matrices(parameters)) {
      random.fill_normal(layer.value_projection);
      random.fill_normal(layer.key_query);
      layer.value_projection *= options.sigma;
      layer.key_query *= options.sigma;
    }
  }
  Parameters first = zero, second = zero;
  const std::uint32_t chunks = (options.batch + chunk_size - 1) / chunk_size;
  std::vector<Parameters> chunk_gradients(chunks, zero);
  std::vector<double> chunk_losses(chunks);
  const std::uint32_t record_every = std::max<std::uint32_t>(1, options.steps / 200);
  double initial_loss = NAN, last_finite_loss = NAN, loss_since_record = 0;
  std::uint32_t steps_since_record = 0;

  for (std::uint32_t step = 0; step < options.steps; ++step) {
    checkpoint("training (Adam)", step, options.steps);
    std::exception_ptr failure;
    std::mutex failure_mutex;
#pragma omp parallel
    {
      Prompt prompt;
#pragma omp for schedule(static)
      for (std::int64_t chunk = 0; chunk < static_cast<std::int64_t>(chunks); ++chunk) {
        try {
          Parameters& gradient = chunk_gradients[static_cast<std::size_t>(chunk)];
          set_zero(gradient);
          double loss = 0;
          const std::uint32_t begin = static_cast<std::uint32_t>(chunk) * chunk_size;
          const std::uint32_t end = std::min(begin + chunk_size, options.batch);
          for (std::uint32_t i = begin; i < end; ++i) {
            sampler.sample(seed, setting, step * options.batch + i, prompt);
            loss += loss_gradient(embed(prompt), prompt.query_label, parameters, gradient);
          }
          chunk_losses[static_cast<std::size_t>(chunk)] = loss;
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      }
    }
    if (failure) std::rethrow_exception(failure);

    // Reduce in chunk order: the sum does not depend on which thread computed which chunk.
    Parameters gradient = zero;
    double loss = 0;
    for (std::uint32_t chunk = 0; chunk < chunks; ++chunk) {
      auto& sum = matrices(gradient);
      const auto& part = matrices(chunk_gradients[chunk]);
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
      message << "training " << name << " diverged at step " << step << ": minibatch loss " << loss
              << ", last finite loss " << last_finite_loss
              << " (lower [models] learning_rate = " << options.learning_rate << ")";
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
    const double scale = 1.0 / options.batch;
    for_each_matrix(parameters, gradient, first, second,
                    [&](Eigen::MatrixXd& theta, const Eigen::MatrixXd& sum, Eigen::MatrixXd& m,
                        Eigen::MatrixXd& v) {
                      m = options.adam_beta1 * m + (1.0 - options.adam_beta1) * scale * sum;
                      v = options.adam_beta2 * v +
                          (1.0 - options.adam_beta2) * (scale * sum).cwiseAbs2();
                      theta.array() -= rate * (m.array() / correction1) /
                                       ((v.array() / correction2).sqrt() + options.adam_epsilon);
                    });
    if ((step + 1) % record_every == 0 || step + 1 == options.steps) {
      result.steps.push_back(step + 1);
      result.losses.push_back(loss_since_record / steps_since_record);
      loss_since_record = 0;
      steps_since_record = 0;
    }
  }
  result.parameters = std::move(parameters);
  return result;
}

}  // namespace

DeepTrainingResult train_deep_lsa(const PromptLaw& law, int train_length, int depth,
                                  const DeepTrainingOptions& options, std::uint64_t seed,
                                  std::uint64_t setting) {
  if (depth < 1) throw ConfigError("deep model depth must be at least 1");
  return train_stack(law, train_length, DeepLsaParameters::zero(law.dim(), depth),
                     "lsa-" + std::to_string(depth), options, seed, setting);
}

SoftmaxTrainingResult train_softmax_attention(const PromptLaw& law, int train_length, int depth,
                                              int heads, const DeepTrainingOptions& options,
                                              std::uint64_t seed, std::uint64_t setting) {
  return train_stack(law, train_length, SoftmaxParameters::zero(law.dim(), depth, heads),
                     "softmax-" + std::to_string(depth) + "-" + std::to_string(heads), options,
                     seed, setting);
}

}  // namespace icl
