#pragma once
/// Training prompts for ZFB's one layer, drawn through their sufficient statistics.
///
/// The one-layer model's prediction and gradient see a prompt's N training columns
/// e_i = (x_i, y_i) only through K = Σ_{i≤N} e_i e_iᵀ (G = (K + z_q z_qᵀ)/N, z_q = (x_q, 0)). Any
/// q columns ẽ_1 … ẽ_q with Σ ẽ_j ẽ_jᵀ = K therefore give the same ŷ and the same gradient, with
/// the normaliser N kept. For a Gaussian prompt with a linear task, K has an exact law that needs
/// far fewer random numbers than the N columns: write e_i = A u_i with u_i = (z_i, ξ_i) ~ N(0, I_q),
/// A = [F 0; a wᵀF σ] (F the input covariance's factor, a the label scale, σ the label noise;
/// q = d + 1, or d without noise). Then K = A (Σ u_i u_iᵀ) Aᵀ, and Σ u_i u_iᵀ = L Lᵀ in law with L
/// lower triangular, L_jj² ~ χ²_{N−j} and L_jk ~ N(0, 1) below the diagonal (the Bartlett
/// decomposition of the Wishart law W_q(I, N)), so the columns of A L stand in for the prompt:
/// q(q − 1)/2 normals and q χ² variates instead of dN normals (210 + 21 instead of 800 at d = 20,
/// N = 40, noise on), and q columns instead of N in the gradient. The task w, the query and its
/// label are drawn as the plain sampler draws them. docs/mathematics.md, "Training".
///
/// The law of the trained model is unchanged; its bits differ from training on whole prompts
/// (other random numbers), and they are the same for any thread count.
#include "core/prompt.hpp"

#include <cstdint>
#include <string>

namespace icl {

/// Why prompts of `law` and length `length` cannot be drawn compressed; empty when they can.
/// Needs a training law with a linear (or sparse) task and length ≥ q.
std::string compressed_prompt_obstacle(const PromptLaw& law, int length);

class CompressedPromptSampler {
 public:
  /// Throws ConfigError naming the obstacle when there is one.
  CompressedPromptSampler(PromptLaw law, int length);

  /// A prompt whose `inputs` (d x q) and `labels` (q) are the stand-in columns ẽ_j: its length()
  /// is q, not N, so the gradient must be normalised by length() of this sampler.
  void sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
              Prompt& out) const;

  int length() const { return length_; }
  /// q, the number of stand-in columns.
  int columns() const { return columns_; }

 private:
  PromptLaw law_;
  int length_;
  int columns_;
};

}  // namespace icl
