#include "training/flow.hpp"

#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "training/initialisation.hpp"
#include "training/reduced_loss.hpp"

#include <boost/numeric/odeint.hpp>

#include <cmath>
#include <sstream>

namespace icl {
namespace {

namespace ublas = boost::numeric::ublas;
using Vector = ublas::vector<double>;
using Matrix = ublas::matrix<double>;

std::vector<FlowRecord> thin(std::vector<FlowRecord> records, std::size_t max_records) {
  if (records.size() <= max_records || max_records < 2) return records;
  // Keep rows evenly spaced in index (steps cluster where the flow is fast) and always the last.
  std::vector<FlowRecord> kept;
  const double stride =
      static_cast<double>(records.size() - 1) / static_cast<double>(max_records - 1);
  for (std::size_t k = 0; k < max_records; ++k)
    kept.push_back(records[static_cast<std::size_t>(std::llround(k * stride))]);
  return kept;
}

/// The flow in Λ's eigenbasis, reduced to d + 2 coordinates. With τ(t) = ∫₀ᵗ u² ds, every
/// off-diagonal entry has the closed form Ũ_ij(t) = Ũ_ij(0) exp(−A_ij τ), so only the diagonal
/// x_i = Ũ_ii, u and τ are integrated:
///   dx_i/dt = −u² A_ii x_i + u b_i,
///   du/dt   = −(u Σ_i A_ii x_i² + u S(τ) − Σ_i b_i x_i),  S(τ) = Σ_{i≠j} A_ij Ũ_ij(0)² e^{−2 A_ij
///   τ}, dτ/dt   = u².
/// The system is stiff (rates from u² min A to u² max A), so it is integrated by the implicit
/// Rosenbrock 4 method with its exact Jacobian, which also lands on the fixed point to rounding.
class ReducedFlow {
 public:
  ReducedFlow(const ReducedLoss& loss, const Eigen::MatrixXd& initial_U)
      : loss_(loss),
        dim_(static_cast<int>(initial_U.rows())),
        initial_(initial_U),
        curvature_(loss.curvature()),
        forcing_(loss.forcing()) {}

  int size() const { return dim_ + 2; }

  void rhs(const Vector& state, Vector& derivative) const {
    const double u = state(dim_), tau = state(dim_ + 1);
    double diagonal_sum = 0.0, forcing_sum = 0.0;
    for (int i = 0; i < dim_; ++i) {
      const double x = state(i);
      derivative(i) = -u * u * curvature_(i, i) * x + u * forcing_(i);
      diagonal_sum += curvature_(i, i) * x * x;
      forcing_sum += forcing_(i) * x;
    }
    derivative(dim_) = -(u * diagonal_sum + u * off_diagonal_sum(tau, 0) - forcing_sum);
    derivative(dim_ + 1) = u * u;
  }

  void jacobian(const Vector& state, Matrix& J, Vector& dfdt) const {
    const double u = state(dim_), tau = state(dim_ + 1);
    J.clear();
    double diagonal_sum = 0.0;
    for (int i = 0; i < dim_; ++i) {
      const double x = state(i), a = curvature_(i, i);
      J(i, i) = -u * u * a;
      J(i, dim_) = -2.0 * u * a * x + forcing_(i);
      J(dim_, i) = -(2.0 * u * a * x - forcing_(i));
      diagonal_sum += a * x * x;
    }
    J(dim_, dim_) = -(diagonal_sum + off_diagonal_sum(tau, 0));
    J(dim_, dim_ + 1) = -u * off_diagonal_sum(tau, 1);
    J(dim_ + 1, dim_) = 2.0 * u;
    for (std::size_t k = 0; k < dfdt.size(); ++k) dfdt(k) = 0.0;
  }

  /// Ũ(t) from the reduced state.
  Eigen::MatrixXd full_U(const Vector& state) const {
    const double tau = state(dim_ + 1);
    Eigen::MatrixXd U(dim_, dim_);
    for (int j = 0; j < dim_; ++j)
      for (int i = 0; i < dim_; ++i)
        U(i, j) = i == j ? state(i) : initial_(i, j) * std::exp(-curvature_(i, j) * tau);
    return U;
  }

 private:
  /// order 0: S(τ); order 1: dS/dτ.
  double off_diagonal_sum(double tau, int order) const {
    double sum = 0.0;
    for (int j = 0; j < dim_; ++j)
      for (int i = 0; i < dim_; ++i) {
        if (i == j || initial_(i, j) == 0.0) continue;
        const double a = curvature_(i, j);
        const double term = a * initial_(i, j) * initial_(i, j) * std::exp(-2.0 * a * tau);
        sum += order == 0 ? term : -2.0 * a * term;
      }
    return sum;
  }

  const ReducedLoss& loss_;
  int dim_;
  Eigen::MatrixXd initial_;
  Eigen::MatrixXd curvature_;
  Eigen::VectorXd forcing_;
};

}  // namespace

double largest_flow_sigma(double gamma_norm, int dim) {
  if (!(gamma_norm > 0.0)) return INFINITY;
  return std::sqrt(2.0 / (gamma_norm * std::sqrt(static_cast<double>(dim))));
}

void check_flow_sigma(double sigma, double gamma_norm, const Covariance& covariance,
                      int train_length) {
  const int dim = covariance.dim();
  if (sigma < largest_flow_sigma(gamma_norm, dim)) return;
  std::ostringstream message;
  message
      << "sigma = " << sigma
      << " violates the initialisation condition sigma^2 ||Gamma||_op sqrt(d) < 2 (needs sigma < "
      << largest_flow_sigma(gamma_norm, dim) << " for d = " << dim << ", N = " << train_length
      << ", covariance " << quote(covariance.spec()) << ")";
  throw ConfigError(message.str());
}

FlowResult train_gradient_flow(const Covariance& covariance, int train_length,
                               const FlowOptions& options, std::uint64_t seed,
                               std::uint64_t setting) {
  namespace odeint = boost::numeric::odeint;
  const int dim = covariance.dim();
  if (!(options.sigma > 0.0)) throw ConfigError("[training] sigma must be > 0");
  const ReducedLoss loss(covariance, train_length);
  try {
    check_flow_sigma(options.sigma, loss.gamma_operator_norm(), covariance, train_length);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string("[training] ") + e.what());
  }
  const double gradient_threshold = options.tolerance * loss.forcing_norm();
  const Eigen::MatrixXd target = loss.to_eigenbasis(loss.target());
  const double target_norm = target.norm();

  const LsaParameters initial = assumption33_initialisation(dim, options.sigma, seed, setting);
  const Eigen::MatrixXd initial_U = loss.to_eigenbasis(initial.key_query.topLeftCorner(dim, dim));
  const ReducedFlow flow(loss, initial_U);
  Vector state(flow.size());
  for (int i = 0; i < dim; ++i) state(i) = initial_U(i, i);
  state(dim) = initial.value_projection(dim, dim);
  state(dim + 1) = 0.0;

  FlowResult result;
  std::vector<FlowRecord> records;
  double last_finite_loss = NAN;
  Eigen::MatrixXd grad_U;
  double grad_u = 0.0;
  auto record = [&](double time) -> double {
    const Eigen::MatrixXd U = flow.full_U(state);
    const double u = state(dim);
    const double value = loss.loss_in_eigenbasis(U, u);
    if (!std::isfinite(value) || !std::isfinite(u))
      throw NumericalError("gradient flow diverged at t = " + std::to_string(time) +
                           " (last finite loss " + std::to_string(last_finite_loss) + ")");
    last_finite_loss = value;
    // Frobenius norms are the same in both bases (Q is orthogonal).
    records.push_back(
        {time, value, (u * U - target).norm() / target_norm, u * u - U.squaredNorm()});
    loss.gradient_in_eigenbasis(U, u, grad_U, grad_u);
    return std::sqrt(grad_U.squaredNorm() + grad_u * grad_u);
  };

  auto stepper = odeint::make_controlled<odeint::rosenbrock4<double>>(options.integrator_tolerance,
                                                                      options.integrator_tolerance);
  auto system = std::make_pair(
      [&flow](const Vector& x, Vector& dxdt, double) { flow.rhs(x, dxdt); },
      [&flow](const Vector& x, Matrix& J, double, Vector& dfdt) { flow.jacobian(x, J, dfdt); });
  double time = 0.0;
  double step = 1e-3;
  double gradient_norm = record(time);
  std::size_t rejected_in_a_row = 0;
  while (gradient_norm > gradient_threshold && time < options.max_time) {
    // Progress as time on a log scale would mislead; the integrator's steps are what is counted.
    checkpoint("training (gradient flow), integrator step", static_cast<double>(result.steps), 0);
    step = std::min(step, options.max_time - time);
    if (stepper.try_step(system, state, time, step) == odeint::success) {
      rejected_in_a_row = 0;
      ++result.steps;
      gradient_norm = record(time);
    } else if (++rejected_in_a_row > 500) {
      throw NumericalError("gradient flow: step size underflow at t = " + std::to_string(time));
    }
  }

  const Eigen::MatrixXd U = flow.full_U(state);
  const double u = state(dim);
  result.converged = gradient_norm <= gradient_threshold;
  result.loss_gap = loss.loss_in_eigenbasis(U, u) - loss.minimal_loss();
  result.parameters = LsaParameters::zero(dim);
  result.parameters.key_query.topLeftCorner(dim, dim) = loss.from_eigenbasis(U);
  result.parameters.value_projection(dim, dim) = u;
  result.trajectory = thin(std::move(records), options.max_records);
  return result;
}

}  // namespace icl
