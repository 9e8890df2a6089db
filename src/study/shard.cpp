#include "study/shard.hpp"

#include "core/errors.hpp"
#include "parallel/partition.hpp"

#include <stdexcept>

namespace icl {

Shard Shard::parse(const std::string& text, const std::string& where) {
  if (text.empty()) return {};
  const auto slash = text.find('/');
  Shard shard;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    std::size_t used = 0;
    shard.index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    shard.count = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    throw ConfigError(where + ": expected I/K with integers 0 <= I < K, got '" + text + "'");
  }
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    throw ConfigError(where + ": expected I/K with 0 <= I < K, got '" + text + "'");
  return shard;
}

std::vector<bool> shard_membership(const Study& study, const Shard& shard) {
  std::vector<double> costs;
  for (const auto& point : study.points) costs.push_back(point_cost(study, point));
  const auto owners = balanced_partition(costs, shard.count);
  std::vector<bool> member(study.points.size());
  for (std::size_t i = 0; i < owners.size(); ++i) member[i] = owners[i] == shard.index;
  return member;
}

}  // namespace icl
