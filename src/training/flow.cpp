#include "training/flow.hpp"

#include "core/errors.hpp"
#include "training/initialisation.hpp"
#include "training/reduced_loss.hpp"

#include <boost/numeric/odeint.hpp>

#include <cmath>
#include <sstream>

namespace icl {
namespace {

using State = std::vector<double>;  // U column-major (d²), then u

struct Unpacked {
  Eigen::Map<const Eigen::MatrixXd> U;
  double u;
};
Unpacked unpack(const State& state, int dim) {
  return {Eigen::Map<const Eigen::MatrixXd>(state.data(), dim, dim), state.back()};
}

std::vector<FlowRecord> thin(std::vector<FlowRecord> records, std::size_t max_records) {
  if (records.size() <= max_records || max_records < 2) return records;
  // Keep rows evenly spaced in index (steps cluster where the flow is fast) and always the last.
  std::vector<FlowRecord> kept;
  const double stride = static_cast<double>(records.size() - 1) / static_cast<double>(max_records - 1);
  for (std::size_t k = 0; k < max_records; ++k)
    kept.push_back(records[static_cast<std::size_t>(std::llround(k * stride))]);
  return kept;
}

}  // namespace

FlowResult train_gradient_flow(const Covariance& covariance, int train_length,
                               const FlowOptions& options, std::uint64_t seed,
                               std::uint64_t setting) {
  namespace odeint = boost::numeric::odeint;
  const int dim = covariance.dim();
  const ReducedLoss loss(covariance, train_length);
  const double gamma_norm = loss.gamma_operator_norm();
  if (gamma_norm > 0.0 && options.sigma * options.sigma * gamma_norm * std::sqrt(dim) >= 2.0) {
    std::ostringstream message;
    message << "[training] sigma = " << options.sigma
            << " violates the initialisation condition sigma^2 ||Gamma||_op sqrt(d) < 2 (needs sigma < "
            << std::sqrt(2.0 / (gamma_norm * std::sqrt(dim))) << " for d = " << dim
            << ", N = " << train_length << ", covariance '" << covariance.spec() << "')";
    throw ConfigError(message.str());
  }
  if (!(options.sigma > 0.0)) throw ConfigError("[training] sigma must be > 0");
  const double gradient_threshold = options.tolerance * loss.forcing_norm();
  const Eigen::MatrixXd target = loss.to_eigenbasis(loss.target());
  const double target_norm = target.norm();

  // The state lives in Λ's eigenbasis, where the right-hand side is entrywise (O(d²)).
  const LsaParameters initial = assumption33_initialisation(dim, options.sigma, seed, setting);
  State state(static_cast<std::size_t>(dim) * dim + 1);
  Eigen::Map<Eigen::MatrixXd>(state.data(), dim, dim) =
      loss.to_eigenbasis(initial.key_query.topLeftCorner(dim, dim));
  state.back() = initial.value_projection(dim, dim);

  Eigen::MatrixXd grad_U(dim, dim);
  double grad_u = 0.0;
  auto system = [&](const State& x, State& dxdt, double) {
    const auto [U, u] = unpack(x, dim);
    loss.gradient_in_eigenbasis(U, u, grad_U, grad_u);
    Eigen::Map<Eigen::MatrixXd>(dxdt.data(), dim, dim) = -grad_U;
    dxdt.back() = -grad_u;
  };

  FlowResult result;
  std::vector<FlowRecord> records;
  double last_finite_loss = NAN;
  auto record = [&](double time) -> double {
    const auto [U, u] = unpack(state, dim);
    const double value = loss.loss_in_eigenbasis(U, u);
    if (!std::isfinite(value) || !std::isfinite(u))
      throw NumericalError("gradient flow diverged at t = " + std::to_string(time) +
                           " (last finite loss " + std::to_string(last_finite_loss) + ")");
    last_finite_loss = value;
    // Frobenius norms are the same in both bases (Q is orthogonal).
    records.push_back({time, value, (u * U - target).norm() / target_norm, u * u - U.squaredNorm()});
    loss.gradient_in_eigenbasis(U, u, grad_U, grad_u);
    return std::sqrt(grad_U.squaredNorm() + grad_u * grad_u);
  };

  auto stepper = odeint::make_controlled(options.integrator_tolerance, options.integrator_tolerance,
                                         odeint::runge_kutta_dopri5<State>());
  double time = 0.0;
  double step = 1e-3;
  double gradient_norm = record(time);
  std::size_t rejected_in_a_row = 0;
  while (gradient_norm > gradient_threshold && time < options.max_time) {
    // Near the minimum the flow is stiff (rates from u² min A to 2u² max A). Left alone, the error
    // controller would ride the explicit method's stability limit, where the stiff components keep
    // an error of the size of the tolerance and the gradient never falls below the threshold.
    // Capping the step well inside the stability region damps them at every step instead.
    const double u = state.back();
    const double stiff_rate = 2.0 * u * u * loss.max_curvature();
    if (stiff_rate > 0.0) step = std::min(step, 5.0 / stiff_rate);
    step = std::min(step, options.max_time - time);
    if (stepper.try_step(system, state, time, step) == odeint::success) {
      rejected_in_a_row = 0;
      ++result.steps;
      gradient_norm = record(time);
    } else if (++rejected_in_a_row > 500) {
      throw NumericalError("gradient flow: step size underflow at t = " + std::to_string(time));
    }
  }

  const auto [U, u] = unpack(state, dim);
  result.converged = gradient_norm <= gradient_threshold;
  result.loss_gap = loss.loss_in_eigenbasis(U, u) - loss.minimal_loss();
  result.parameters = LsaParameters::zero(dim);
  result.parameters.key_query.topLeftCorner(dim, dim) = loss.from_eigenbasis(U);
  result.parameters.value_projection(dim, dim) = u;
  result.trajectory = thin(std::move(records), options.max_records);
  return result;
}

}  // namespace icl
