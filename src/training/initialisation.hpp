#pragma once
/// Initial parameters of the one-layer LSA.
#include "core/lsa.hpp"

#include <cstdint>

namespace icl {

/// Assumption 3.3: Θ ∈ R^{dxd} Gaussian, normalised so that ‖ΘΘᵀ‖_F = 1;
/// W^{PV}(0) = σ e eᵀ, W^{KQ}(0) = σ [[ΘΘᵀ, 0], [0, 0]]. Θ is drawn from (seed, setting).
LsaParameters assumption33_initialisation(int dim, double sigma, std::uint64_t seed,
                                          std::uint64_t setting);

/// Every entry of both matrices iid N(0, σ²).
LsaParameters dense_gaussian_initialisation(int dim, double sigma, std::uint64_t seed,
                                            std::uint64_t setting);

}  // namespace icl
