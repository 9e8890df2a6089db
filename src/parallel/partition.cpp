#include "parallel/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <stdexcept>

namespace icl {

std::vector<int> balanced_partition(std::span<const double> costs, int parts) {
  if (parts < 1) throw std::invalid_argument("balanced_partition: parts < 1");
  std::vector<std::size_t> order(costs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
  // Min-heap of (load, owner): the least-loaded owner, the lowest index among equals.
  using Entry = std::pair<double, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  for (int p = 0; p < parts; ++p) heap.push({0.0, p});
  std::vector<int> owners(costs.size(), 0);
  for (std::size_t item : order) {
    auto [load, owner] = heap.top();
    heap.pop();
    owners[item] = owner;
    heap.push({load + costs[item], owner});
  }
  return owners;
}

UnitPlan balanced_units(std::span<const double> costs, std::span<const std::uint32_t> chunks,
                        int parts) {
  if (costs.size() != chunks.size()) throw std::invalid_argument("balanced_units: sizes differ");
  const double total = std::accumulate(costs.begin(), costs.end(), 0.0);
  const double cap = total / (16.0 * parts);
  UnitPlan plan;
  for (std::size_t item = 0; item < costs.size(); ++item) {
    const std::uint32_t available = std::max<std::uint32_t>(chunks[item], 1);
    std::uint32_t pieces = 1;
    if (parts > 1 && cap > 0.0 && costs[item] > cap)
      pieces =
          static_cast<std::uint32_t>(std::min<double>(available, std::ceil(costs[item] / cap)));
    // Chunk counts per piece differ by at most one, the larger pieces first.
    const std::uint32_t base = available / pieces, extra = available % pieces;
    std::uint32_t first = 0;
    for (std::uint32_t k = 0; k < pieces; ++k) {
      const std::uint32_t size = base + (k < extra ? 1 : 0);
      plan.units.push_back(
          {item, first, size, costs[item] * static_cast<double>(size) / available});
      first += size;
    }
  }
  std::vector<double> unit_costs;
  unit_costs.reserve(plan.units.size());
  for (const auto& unit : plan.units) unit_costs.push_back(unit.cost);
  plan.owners = balanced_partition(unit_costs, parts);
  return plan;
}

std::vector<double> owner_loads(std::span<const double> costs, std::span<const int> owners,
                                int parts) {
  std::vector<double> loads(static_cast<std::size_t>(parts), 0.0);
  for (std::size_t i = 0; i < costs.size(); ++i)
    loads[static_cast<std::size_t>(owners[i])] += costs[i];
  return loads;
}

double imbalance(std::span<const double> loads) {
  if (loads.empty()) return 1.0;
  const double total = std::accumulate(loads.begin(), loads.end(), 0.0);
  if (total <= 0.0) return 1.0;
  return *std::max_element(loads.begin(), loads.end()) /
         (total / static_cast<double>(loads.size()));
}

}  // namespace icl
