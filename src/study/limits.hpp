#pragma once
/// Sanity bounds on sizes, so an absurd value is a clear error instead of an allocation failure,
/// and the memory a study may plan on.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

namespace icl::limits {
inline constexpr int max_dim = 2000;               ///< d: matrices are d x d
inline constexpr long long max_length = 10000000;  ///< N and M: prompt lengths
/// Combinations of the lists of one [training] or [models] table (a sweep's training variants).
inline constexpr std::size_t max_variants = 10000;
/// What rank 0 holds per grid point (its row in every column, the point's description, the
/// partition's entries, the file being written), generously: the grid-size check uses it.
inline constexpr double bytes_per_point = 2048;

/// The memory this process may plan on: physical memory, or the cgroup's limit (a Slurm job's
/// share) when lower. A study is refused when it needs more than half of it.
inline double available_memory_bytes() {
  double bytes = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                 static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(path);
    std::string text;
    if (in >> text && !text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
      bytes = std::min(bytes, std::stod(text));
  }
  return bytes;
}
}  // namespace icl::limits
