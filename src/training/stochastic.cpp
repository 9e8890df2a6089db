#include "training/stochastic.hpp"

#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "core/theory.hpp"
#include "training/initialisation.hpp"
#include "training/reduced_loss.hpp"

#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>

namespace icl {
namespace {

constexpr std::uint32_t chunk_size = 32;  // prompts per fixed reduction chunk

struct Moments {
  LsaParameters first, second;
};

}  // namespace

double accumulate_prompt_gradient(const Prompt& prompt, const LsaParameters& parameters,
                                  LsaParameters& gradient) {
  const int dim = prompt.dim();
  const double n = prompt.length();
  // G = E Eᵀ / n over all n + 1 columns (no mask: the query column counts; its label slot is 0).
  Eigen::MatrixXd g(dim + 1, dim + 1);
  g.topLeftCorner(dim, dim).noalias() = prompt.inputs * prompt.inputs.transpose();
  g.topLeftCorner(dim, dim).noalias() += prompt.query * prompt.query.transpose();
  g.topRightCorner(dim, 1).noalias() = prompt.inputs * prompt.labels;
  g.bottomLeftCorner(1, dim) = g.topRightCorner(dim, 1).transpose();
  g(dim, dim) = prompt.labels.squaredNorm();
  g /= n;

  const Eigen::VectorXd r = parameters.value_projection.row(dim).transpose();
  Eigen::VectorXd z = Eigen::VectorXd::Zero(dim + 1);
  z.head(dim) = prompt.query;
  const Eigen::VectorXd kq_z = parameters.key_query * z;
  const Eigen::VectorXd g_kq_z = g * kq_z;
  const double error = r.dot(g_kq_z) - prompt.query_label;
  // ∂ŷ/∂W^{PV} = e (G W^{KQ} z)ᵀ (last row only); ∂ŷ/∂W^{KQ} = G r zᵀ (G symmetric).
  gradient.value_projection.row(dim) += error * g_kq_z.transpose();
  gradient.key_query.leftCols(dim) += (error * (g * r)) * prompt.query.transpose();
  return 0.5 * error * error;
}

StochasticResult train_stochastic(const Covariance& covariance, int train_length,
                                  const StochasticOptions& options, std::uint64_t seed,
                                  std::uint64_t setting, const Task& task) {
  const int dim = covariance.dim();
  if (options.batch == 0 || options.steps == 0)
    throw ConfigError("[training] steps and batch must be positive");
  if (static_cast<std::uint64_t>(options.steps) * options.batch >
      std::numeric_limits<std::uint32_t>::max())
    throw ConfigError("[training] steps x batch = " +
                      std::to_string(static_cast<std::uint64_t>(options.steps) * options.batch) +
                      " prompts exceeds the 2^32 that the random-number counter addresses");
  const Eigen::MatrixXd target = ReducedLoss(covariance, train_length).target();
  const double target_norm = target.norm();
  PromptLaw law(covariance, task.noise_std);
  law.task = task;
  const PromptSampler sampler(law, train_length);

  LsaParameters parameters = options.init == Initialisation::assumption33
                                 ? assumption33_initialisation(dim, options.sigma, seed, setting)
                                 : dense_gaussian_initialisation(dim, options.sigma, seed, setting);
  Moments adam{LsaParameters::zero(dim), LsaParameters::zero(dim)};
  const std::uint32_t record_every = options.record_every > 0
                                         ? options.record_every
                                         : std::max<std::uint32_t>(1, options.steps / 500);

  const std::uint32_t chunks = (options.batch + chunk_size - 1) / chunk_size;
  std::vector<LsaParameters> chunk_gradients(chunks, LsaParameters::zero(dim));
  std::vector<double> chunk_losses(chunks);
  StochasticResult result;
  double initial_loss = NAN, last_finite_loss = NAN, loss_since_record = 0.0;
  std::uint32_t steps_since_record = 0;

  for (std::uint32_t step = 0; step < options.steps; ++step) {
    checkpoint(options.optimiser == Optimiser::adam ? "training (Adam)" : "training (SGD)", step,
               options.steps);
    std::exception_ptr failure;
    std::mutex failure_mutex;
#pragma omp parallel
    {
      Prompt prompt;
#pragma omp for schedule(static)
      for (std::int64_t chunk = 0; chunk < static_cast<std::int64_t>(chunks); ++chunk) {
        try {
          LsaParameters& gradient = chunk_gradients[chunk];
          gradient.value_projection.setZero();
          gradient.key_query.setZero();
          double loss = 0.0;
          const std::uint32_t first = static_cast<std::uint32_t>(chunk) * chunk_size;
          const std::uint32_t last = std::min(first + chunk_size, options.batch);
          for (std::uint32_t i = first; i < last; ++i) {
            sampler.sample(seed, setting, step * options.batch + i, prompt);
            loss += accumulate_prompt_gradient(prompt, parameters, gradient);
          }
          chunk_losses[chunk] = loss;
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      }
    }
    if (failure) std::rethrow_exception(failure);

    // Reduce in chunk order: the sum does not depend on which thread computed which chunk.
    LsaParameters gradient = LsaParameters::zero(dim);
    double loss = 0.0;
    for (std::uint32_t chunk = 0; chunk < chunks; ++chunk) {
      gradient.value_projection += chunk_gradients[chunk].value_projection;
      gradient.key_query += chunk_gradients[chunk].key_query;
      loss += chunk_losses[chunk];
    }
    gradient.value_projection /= options.batch;
    gradient.key_query /= options.batch;
    loss /= options.batch;

    if (step == 0) initial_loss = std::max(loss, 1e-300);
    if (!std::isfinite(loss) || loss > options.divergence_factor * initial_loss) {
      std::ostringstream message;
      message << "training diverged at step " << step << ": minibatch loss " << loss
              << ", last finite loss " << last_finite_loss
              << " (lower [training] learning_rate = " << options.learning_rate << ")";
      throw NumericalError(message.str());
    }
    last_finite_loss = loss;
    loss_since_record += loss;
    ++steps_since_record;

    double rate = options.learning_rate;
    if (options.decay_every > 0)
      rate *= std::pow(options.decay_factor, static_cast<double>(step / options.decay_every));
    if (options.optimiser == Optimiser::sgd) {
      parameters.value_projection -= rate * gradient.value_projection;
      parameters.key_query -= rate * gradient.key_query;
    } else {
      const double t = step + 1.0;
      const double correction1 = 1.0 - std::pow(options.adam_beta1, t);
      const double correction2 = 1.0 - std::pow(options.adam_beta2, t);
      auto update = [&](Eigen::MatrixXd& theta, const Eigen::MatrixXd& grad, Eigen::MatrixXd& m,
                        Eigen::MatrixXd& v) {
        m = options.adam_beta1 * m + (1.0 - options.adam_beta1) * grad;
        v = options.adam_beta2 * v + (1.0 - options.adam_beta2) * grad.cwiseAbs2();
        theta.array() -= rate * (m.array() / correction1) /
                         ((v.array() / correction2).sqrt() + options.adam_epsilon);
      };
      update(parameters.value_projection, gradient.value_projection, adam.first.value_projection,
             adam.second.value_projection);
      update(parameters.key_query, gradient.key_query, adam.first.key_query, adam.second.key_query);
    }

    if ((step + 1) % record_every == 0 || step + 1 == options.steps) {
      result.curve.push_back({step + 1, loss_since_record / steps_since_record,
                              (effective_preconditioner(parameters) - target).norm() / target_norm,
                              parameters.value_projection.row(dim).head(dim).norm(),
                              parameters.key_query.row(dim).head(dim).norm()});
      loss_since_record = 0.0;
      steps_since_record = 0;
    }
  }
  result.parameters = std::move(parameters);
  return result;
}

}  // namespace icl
