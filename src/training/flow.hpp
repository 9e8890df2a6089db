#pragma once
/// Gradient flow on the population loss in the reduced coordinates (U, u) of Lemma 5.2, integrated
/// by Boost.Odeint.s adaptive Rosenbrock 4 stepper (implicit, error-controlled).
#include "core/covariance.hpp"
#include "core/lsa.hpp"

#include <cstdint>
#include <vector>

namespace icl {

struct FlowOptions {
  double sigma = 0.1;  ///< initial scale σ (Assumption 3.3)
  double tolerance = 1e-12;  ///< stop when ‖∇ℓ‖ ≤ tolerance · ‖b‖ (b_i = λ_i², the forcing term)
  double max_time = 1e4;                ///< give up (not converged) at this time
  double integrator_tolerance = 1e-12;  ///< absolute and relative error per step
  std::size_t max_records = 2000;  ///< the stored trajectory is thinned to about this many rows
};

/// Assumption 3.3's bound on the initial scale: sigma^2 ||Gamma||_op sqrt(d) < 2 holds exactly for
/// sigma below this (infinity when ||Gamma||_op = 0).
double largest_flow_sigma(double gamma_norm, int dim);

/// ConfigError "sigma = ... violates the initialisation condition ..." naming the setting, when
/// `sigma` is not below largest_flow_sigma. The config check and the flow share it.
void check_flow_sigma(double sigma, double gamma_norm, const Covariance& covariance,
                      int train_length);

/// One row of the recorded trajectory.
struct FlowRecord {
  double time;
  double loss;      ///< L(θ(t))
  double distance;  ///< ‖uU − V_*‖_F / ‖V_*‖_F, V_* = Γ^{-1} (or V_rdm)
  double balance;   ///< u² − ‖U‖_F², conserved by the flow
};

struct FlowResult {
  LsaParameters parameters;  ///< the final θ, with p = q = 0
  std::vector<FlowRecord> trajectory;
  bool converged = false;
  double loss_gap = 0;    ///< L − L_* at the end
  std::size_t steps = 0;  ///< accepted integrator steps
};

/// Run the flow for one training setting. `setting` is the stable hash that addresses the random
/// Θ of the initialisation. Throws NumericalError if the state stops being finite, ConfigError if σ
/// violates σ² ‖Γ‖_op √d < 2.
FlowResult train_gradient_flow(const Covariance& covariance, int train_length,
                               const FlowOptions& options, std::uint64_t seed,
                               std::uint64_t setting);

}  // namespace icl
