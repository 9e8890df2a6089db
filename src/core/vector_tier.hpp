#pragma once
/// The instruction sets that the run-time dispatched kernels (the Philox blocks of
/// core/philox_blocks.*, the training lanes of training/batched_gradients.*) are compiled for,
/// narrowest first, and the choice both make between them: the widest this CPU runs, unless an
/// environment variable names one (tests compare the paths through the whole program that way).
#include <array>
#include <vector>

namespace icl {

/// PhiloxPath and KernelPath number their paths in this order.
enum class VectorTier { none, avx2, avx512 };

/// One kernel family's spelling of each tier, indexed by tier ("scalar", "avx2", "avx512").
using VectorTierNames = std::array<const char*, 3>;

/// Whether this CPU runs `tier` (none: always).
bool cpu_runs(VectorTier tier);
/// Every tier this CPU runs, narrowest first.
std::vector<VectorTier> available_vector_tiers();
/// The tier the environment variable `variable` names in `names`, or, unset or empty, the widest
/// this CPU runs. Throws ConfigError naming the variable for an unknown name or a tier this CPU
/// cannot run.
VectorTier chosen_vector_tier(const char* variable, const VectorTierNames& names);

}  // namespace icl
