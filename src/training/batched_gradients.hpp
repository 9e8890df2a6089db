#pragma once
/// The loss gradients of the deep stacks (lsa-L, softmax-L-H) on a chunk of prompts at once,
/// eight prompts to a pack of SIMD lanes (training/lanes.hpp), with the instruction set chosen
/// when the program runs. They compute the same mathematics as the per-prompt reference passes
/// of core/deep_lsa.* and core/softmax_attention.* (which the tests compare them with), organised
/// for speed (docs/architecture.md, "Training kernels"):
///   - the last layer computes only the query's label slot, the one entry the loss reads, and its
///     backward pass is then a handful of vectors instead of matrices;
///   - the first layer's input is the embedding, so its gradient with respect to its input is
///     never formed;
///   - the linear layer's product P A Q is formed once and the moment A = Z M Zᵀ / n reused.
/// Every path (baseline x86-64, AVX2, AVX-512) gives the same bits, and the result does not
/// depend on where the chunk's prompts fall in their packs beyond their order.
#include "core/deep_lsa.hpp"
#include "core/prompt.hpp"
#include "core/softmax_attention.hpp"

#include <span>
#include <string>
#include <vector>

namespace icl {

enum class KernelPath { baseline, avx2, avx512 };

std::string kernel_path_name(KernelPath path);
/// Every path this CPU runs, baseline first.
std::vector<KernelPath> available_kernel_paths();
/// The widest path this CPU runs, or the one named by ICL_KERNEL_PATH (baseline, avx2, avx512).
/// Chosen once; throws ConfigError naming the variable for an unknown or unsupported path.
KernelPath active_kernel_path();

/// The multiply-adds one prompt's loss and gradient take in these kernels (the main term of each
/// product), for lsa-L (`heads` = 1) or softmax-L-H on prompts of `length` labelled columns: the
/// training cost model's measure of work, and the benchmark's count of executed flops (twice it).
double batched_multiply_adds(bool softmax, int depth, int heads, int dim, int length);

/// Σ over `prompts` of ½(ŷ − y_q)², returned, and of its gradient, added to `gradient`: each
/// prompt's gradient is formed whole and added in the prompts' order.
double batched_loss_gradient(std::span<const Prompt> prompts, const DeepLsaParameters& parameters,
                             DeepLsaParameters& gradient, KernelPath path = active_kernel_path());
double batched_loss_gradient(std::span<const Prompt> prompts, const SoftmaxParameters& parameters,
                             SoftmaxParameters& gradient, KernelPath path = active_kernel_path());

}  // namespace icl
