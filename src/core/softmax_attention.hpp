#pragma once
/// L layers of H-head softmax attention with residual connections (issue 11, model `softmax-L-H`),
/// on the same embedding and with the same masking and sign as lsa-L (core/deep_lsa.hpp):
///
///   Z_{l+1} = Z_l + Σ_h W^{PV}_{l,h} Z_l^{keys} softmax_keys((Z_l^{keys})ᵀ W^{KQ}_{l,h} Z_l),
///   ŷ = −[Z_L]_{d+1, n+1},
///
/// where the keys (and values) are the n prompt columns only, so the query cannot attend to itself,
/// and the softmax normalises each column of scores over the keys.
#include "core/lsa.hpp"

#include <Eigen/Core>

#include <vector>

namespace icl {

struct SoftmaxParameters {
  int heads = 1;
  std::vector<LsaParameters> weights;  ///< layer l, head h at l · heads + h

  int depth() const { return heads > 0 ? static_cast<int>(weights.size()) / heads : 0; }
  int dim() const { return weights.empty() ? 0 : weights.front().dim(); }
  static SoftmaxParameters zero(int dim, int depth, int heads);
};

/// ŷ of the model on an embedding.
double softmax_attention_predict(const Eigen::MatrixXd& embedding,
                                 const SoftmaxParameters& parameters);

/// ½(ŷ − y_q)² and its gradient with respect to every W^{PV}_{l,h} and W^{KQ}_{l,h} (hand-written
/// backward pass), added to `gradient`. Returns the loss.
double softmax_attention_loss_gradient(const Eigen::MatrixXd& embedding, double query_label,
                                       const SoftmaxParameters& parameters,
                                       SoftmaxParameters& gradient);

}  // namespace icl
