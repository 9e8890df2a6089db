#define BOOST_TEST_MODULE parallel_partition
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"
#include "parallel/partition.hpp"

#include <numeric>

// The partition is a pure function: tested here without starting MPI.

using namespace icl;

BOOST_AUTO_TEST_CASE(lpt_is_deterministic_and_balanced) {
  RandomStream random(1, {2, 3, Stream::shift});
  std::vector<double> costs(1000);
  for (auto& c : costs) c = random.exponential();
  const auto owners = balanced_partition(costs, 16);
  BOOST_TEST(owners == balanced_partition(costs, 16));
  const auto loads = owner_loads(costs, owners, 16);
  BOOST_TEST(std::accumulate(loads.begin(), loads.end(), 0.0) ==
                 std::accumulate(costs.begin(), costs.end(), 0.0),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(imbalance(loads) < 1.01);
}

BOOST_AUTO_TEST_CASE(more_owners_than_items_leaves_some_idle) {
  const std::vector<double> costs = {3.0, 1.0, 2.0};
  const auto owners = balanced_partition(costs, 5);
  // Largest first, each to the least-loaded (lowest index on ties) owner.
  BOOST_TEST(owners == (std::vector<int>{0, 2, 1}));
  const auto loads = owner_loads(costs, owners, 5);
  BOOST_TEST(loads[3] == 0.0);
  BOOST_TEST(loads[4] == 0.0);
}

BOOST_AUTO_TEST_CASE(one_big_item_bounds_the_balance) {
  const std::vector<double> costs = {10.0, 1.0, 1.0, 1.0, 1.0};
  const auto loads = owner_loads(costs, balanced_partition(costs, 2), 2);
  BOOST_TEST(loads[0] == 10.0);
  BOOST_TEST(loads[1] == 4.0);
}

BOOST_AUTO_TEST_CASE(units_cut_costly_items_into_contiguous_chunk_ranges) {
  // One item is half the work: with 4 parts it must be cut, into contiguous pieces that cover its
  // 7 chunks exactly once; the cheap items stay whole.
  const std::vector<double> costs = {70.0, 10.0, 20.0, 10.0, 30.0};
  const std::vector<std::uint32_t> chunks = {7, 7, 7, 7, 7};
  const auto plan = balanced_units(costs, chunks, 4);
  std::vector<std::uint32_t> covered(costs.size(), 0);
  double total = 0;
  for (const auto& unit : plan.units) {
    BOOST_TEST(unit.first_chunk == covered[unit.item]);  // in order, contiguous
    covered[unit.item] += unit.chunks;
    total += unit.cost;
  }
  for (std::size_t i = 0; i < costs.size(); ++i) BOOST_TEST(covered[i] == 7u);
  BOOST_TEST(total == 140.0, boost::test_tools::tolerance(1e-12));
  std::vector<double> unit_costs;
  for (const auto& unit : plan.units) unit_costs.push_back(unit.cost);
  const double balance = imbalance(owner_loads(unit_costs, plan.owners, 4));
  BOOST_TEST_MESSAGE("imbalance " << balance << " with " << plan.units.size() << " units");
  BOOST_TEST(balance < 1.1);
  // Whole items could not do better than 70 / 35 = 2.
  BOOST_TEST(imbalance(owner_loads(costs, balanced_partition(costs, 4), 4)) == 2.0);
}

BOOST_AUTO_TEST_CASE(one_part_cuts_nothing) {
  const std::vector<double> costs = {5.0, 1.0};
  const std::vector<std::uint32_t> chunks = {3, 3};
  const auto plan = balanced_units(costs, chunks, 1);
  BOOST_TEST(plan.units.size() == 2u);
  BOOST_TEST(plan.units[0].chunks == 3u);
}
