#pragma once
/// L layers of linear self-attention with residual connections (issue 11, model `lsa-L`):
///
///   Z_0 = E (the ZFB embedding, query column last with label slot 0),
///   Z_{l+1} = Z_l + W^{PV}_l (Z_l M Z_lᵀ / n) W^{KQ}_l Z_l,   M = diag(1, …, 1, 0),
///   ŷ = −[Z_L]_{d+1, n+1}.
///
/// M keeps the query column out of the keys and values (it cannot attend to itself), as in Ahn et
/// al. (2023), and the sign convention is theirs: with W^{PV}_l = e_{d+1} e_{d+1}ᵀ and
/// W^{KQ}_l = −[Γ_lᵀ 0; 0 0], the label slots carry the residuals y_i − w_lᵀ x_i of preconditioned
/// gradient descent w_{l+1} = w_l + Γ_l (1/n) Σ x_i (y_i − w_lᵀ x_i), and the query's slot carries
/// −w_Lᵀ x_q. For L = 1 this is the model class of ZFB's one layer (W^{PV} negated; the mask
/// changes nothing when p = 0).
#include "core/lsa.hpp"

#include <Eigen/Core>

#include <string_view>
#include <vector>

namespace icl {

/// The grid axis `model`: "lsa" (ZFB's one-layer model, trained by [training] method), "lsa-L"
/// (this file's L-layer model) or "softmax-L-H" (core/softmax_attention.hpp), both trained by Adam
/// ([models]), 1 <= L <= 16, 1 <= H <= 16. "lsa-L-gd" is lsa-L trained by Adam from the
/// hand-built weights of L steps of preconditioned gradient descent instead of random ones: does
/// training keep what the construction gives, or leave it for something worse?
struct ModelSpec {
  enum class Kind { zfb, linear, softmax };
  Kind kind = Kind::zfb;
  int depth = 0;  ///< 0 for ZFB's one layer
  int heads = 1;
  bool starts_at_gd = false;  ///< lsa-L-gd

  /// The (d+1)x(d+1) W_PV, W_KQ blocks the model stacks vertically: one per layer and head.
  int blocks() const { return depth * heads > 1 ? depth * heads : 1; }
};
/// Throws ConfigError naming the text and the valid forms.
ModelSpec parse_model(std::string_view model);
/// parse_model(model).depth.
int model_depth(std::string_view model);

/// One LsaParameters per layer.
struct DeepLsaParameters {
  std::vector<LsaParameters> layers;

  int depth() const { return static_cast<int>(layers.size()); }
  int dim() const { return layers.empty() ? 0 : layers.front().dim(); }
  static DeepLsaParameters zero(int dim, int depth);
  /// The weights that implement `preconditioners.size()` steps of preconditioned gradient descent
  /// from w = 0 with the given Γ_l (Ahn et al. 2023): ŷ equals that algorithm's prediction.
  static DeepLsaParameters preconditioned_gd(const std::vector<Eigen::MatrixXd>& preconditioners);
};

/// The forward pass: Z_0 … Z_L (every layer's output, kept for the backward pass).
std::vector<Eigen::MatrixXd> deep_lsa_forward(const Eigen::MatrixXd& embedding,
                                              const DeepLsaParameters& parameters);

/// ŷ = −[Z_L]_{d+1, n+1}.
double deep_lsa_predict(const Eigen::MatrixXd& embedding, const DeepLsaParameters& parameters);

/// ½(ŷ − y_q)² and its gradient with respect to every W^{PV}_l and W^{KQ}_l (hand-written
/// backward pass through the stored forward pass), added to `gradient` (same shapes as the
/// parameters). Returns the loss.
double deep_lsa_loss_gradient(const Eigen::MatrixXd& embedding, double query_label,
                              const DeepLsaParameters& parameters, DeepLsaParameters& gradient);

}  // namespace icl
