#pragma once
/// Splitting the grid over ranks (or shards). Pure functions, tested without MPI.
#include <span>
#include <vector>

namespace icl {

/// Contiguous block slice [begin, end) of n items for `rank` of `ranks`; sizes differ by at most
/// one.
struct Slice {
  std::size_t begin = 0, end = 0;
};
Slice slice(std::size_t n, int ranks, int rank);

/// Balanced assignment of items with the given costs to `parts` owners: longest processing time
/// first (items by decreasing cost, ties by index; each to the least-loaded owner, ties to the
/// lowest owner). Deterministic; returns the owner of every item.
std::vector<int> balanced_partition(std::span<const double> costs, int parts);

/// Sum of costs per owner, and max/mean of those loads (1 is perfect balance).
std::vector<double> owner_loads(std::span<const double> costs, std::span<const int> owners,
                                int parts);
double imbalance(std::span<const double> loads);

}  // namespace icl
