#include "core/vector_tier.hpp"

#include "core/errors.hpp"

#include <cstdlib>
#include <string>

namespace icl {

bool cpu_runs(VectorTier tier) {
  switch (tier) {
    case VectorTier::none:
      return true;
    case VectorTier::avx2:
      return __builtin_cpu_supports("avx2");
    case VectorTier::avx512:
      return __builtin_cpu_supports("avx512f");
  }
  return false;
}

std::vector<VectorTier> available_vector_tiers() {
  std::vector<VectorTier> tiers;
  for (VectorTier tier : {VectorTier::none, VectorTier::avx2, VectorTier::avx512})
    if (cpu_runs(tier)) tiers.push_back(tier);
  return tiers;
}

VectorTier chosen_vector_tier(const char* variable, const VectorTierNames& names) {
  const char* requested = std::getenv(variable);
  if (requested == nullptr || *requested == '\0') return available_vector_tiers().back();
  for (VectorTier tier : {VectorTier::none, VectorTier::avx2, VectorTier::avx512}) {
    if (std::string(names[static_cast<int>(tier)]) != requested) continue;
    if (!cpu_runs(tier))
      throw ConfigError(std::string(variable) + ": '" + requested +
                        "' is not supported by this CPU");
    return tier;
  }
  throw ConfigError(std::string(variable) + ": expected " + names[0] + ", " + names[1] + " or " +
                    names[2] + ", got '" + requested + "'");
}

}  // namespace icl
