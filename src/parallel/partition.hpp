#pragma once
/// Splitting the grid over ranks (or shards). Pure functions, tested without MPI.
#include <cstdint>
#include <span>
#include <vector>

namespace icl {

/// Balanced assignment of items with the given costs to `parts` owners: longest processing time
/// first (items by decreasing cost, ties by index; each to the least-loaded owner, ties to the
/// lowest owner). Deterministic; returns the owner of every item.
std::vector<int> balanced_partition(std::span<const double> costs, int parts);

/// A piece of an item's work: chunks [first_chunk, first_chunk + chunks) of item `item`.
struct WorkUnit {
  std::size_t item = 0;
  std::uint32_t first_chunk = 0, chunks = 0;
  double cost = 0;
};

struct UnitPlan {
  std::vector<WorkUnit> units;  ///< by item, then by first chunk
  std::vector<int> owners;      ///< owner of every unit
};

/// Balanced assignment of items that can be cut into chunks (a grid point's prompts come in chunks
/// whose statistics merge in order, so a point may be evaluated by several ranks): every item
/// costlier than a sixteenth of the mean load is cut into as many near-equal contiguous pieces as
/// bring it under that (at most one per chunk), then the pieces are assigned by
/// balanced_partition. With one part nothing is cut.
UnitPlan balanced_units(std::span<const double> costs, std::span<const std::uint32_t> chunks,
                        int parts);

/// Sum of costs per owner, and max/mean of those loads (1 is perfect balance).
std::vector<double> owner_loads(std::span<const double> costs, std::span<const int> owners,
                                int parts);
double imbalance(std::span<const double> loads);

}  // namespace icl
