#pragma once
/// Sanity bounds on sizes, so an absurd value is a clear error instead of an allocation failure.
namespace icl::limits {
inline constexpr int max_dim = 2000;               ///< d: matrices are d x d
inline constexpr long long max_length = 10000000;  ///< N and M: prompt lengths
}  // namespace icl::limits
