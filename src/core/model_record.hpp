#pragma once
/// A trained model as the study keeps it: what training produces, MPI ranks exchange and result
/// files store under /models/<key> (src/io/schema.md).
#include <Eigen/Core>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace icl {

/// A trained model: /models/<key>/{W_PV, W_KQ, loss, ...}.
struct ModelRecord {
  std::string key;
  std::int64_t dim = 0, train_length = 0;
  std::string covariance, task = "linear", method;
  std::string model = "lsa";  ///< "lsa-L": W_PV and W_KQ hold the L layers stacked vertically
  Eigen::MatrixXd value_projection, key_query;  ///< W_PV, W_KQ
  /// Λ, the training inputs' covariance ("Lambda"; empty for random covariances): the analysis
  /// computes Γ⁻¹ from it on its own to judge Theorem 4.1 without trusting the training code.
  Eigen::MatrixXd input_covariance;
  std::vector<double> loss;  ///< the training curve
  /// Further curves aligned with `loss`: "time" or "step", "distance", "balance", "p_norm",
  /// "q_norm".
  std::map<std::string, std::vector<double>> curves;
  std::map<std::string, double> numbers;  ///< scalar attributes: converged, loss_gap, seconds, ...
  /// Text attributes: training (the sweep variant's label), optimiser, schedule, init.
  std::map<std::string, std::string> texts;
};

}  // namespace icl
