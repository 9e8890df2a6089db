#pragma once
/// The one-layer linear self-attention model of ZFB (docs/mathematics.md section 2):
///   f(E; θ) = E + W^{PV} E (Eᵀ W^{KQ} E) / n,   ŷ = f(E; θ)[d+1, n+1].
#include "core/prompt.hpp"

#include <Eigen/Core>

namespace icl {

/// θ = (W^{PV}, W^{KQ}), each (d+1) x (d+1).
struct LsaParameters {
  Eigen::MatrixXd value_projection;  ///< W^{PV}
  Eigen::MatrixXd key_query;         ///< W^{KQ}

  int dim() const { return static_cast<int>(value_projection.rows()) - 1; }
  static LsaParameters zero(int dim);
};

/// The full forward pass f(E; θ) on an embedding with n = E.cols() - 1 labelled columns. No mask:
/// the query column is a key and a value like any other.
Eigen::MatrixXd lsa_forward(const Eigen::MatrixXd& embedding, const LsaParameters& parameters);

/// ŷ from the full forward pass.
double lsa_predict_full(const Prompt& prompt, const LsaParameters& parameters);

/// ŷ from the reduced form (docs/mathematics.md section 2, derived):
///   ŷ = pᵀ(S + x_q x_qᵀ/n) U x_q + (pᵀh)(qᵀx_q) + u hᵀU x_q + u s_yy (qᵀx_q)
/// with p = w^{PV}_21, u = w^{PV}_22, U = W^{KQ}_11, q = w^{KQ}_21.
double lsa_predict_reduced(const Prompt& prompt, const LsaParameters& parameters);
/// The same with the prompt's moments already computed (the Monte Carlo loop has them).
double lsa_predict_reduced(const Prompt& prompt, const PromptMoments& moments,
                           const LsaParameters& parameters);

/// The preconditioner V of the prediction ŷ = hᵀ V x_q when p = q = 0 (V = u U), or, in general,
/// the effective preconditioner u U + p qᵀ that stochastic training is measured by.
Eigen::MatrixXd effective_preconditioner(const LsaParameters& parameters);

}  // namespace icl
