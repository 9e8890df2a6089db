#pragma once
/// The one OpenMP loop of the project: items [0, count) on the threads of a parallel region, each
/// thread with its own workspace. No exception may leave an OpenMP region, so the first one thrown
/// by any item is kept and rethrown after the loop. Results must be written per item (and reduced
/// in item order by the caller) so that they do not depend on which thread ran which item.
///
/// Header-only: the including library compiles it with OpenMP (icl_training, icl_evaluation);
/// without OpenMP the pragmas are ignored and the loop runs serially with the same results.
#include <cstdint>
#include <exception>
#include <mutex>

namespace icl {

/// How items are handed to threads: in equal contiguous blocks (items of equal cost), or one at a
/// time (items of unequal cost).
enum class LoopSchedule { equal_blocks, one_at_a_time };

template <typename Workspace, typename Body>
void parallel_for(std::int64_t count, LoopSchedule schedule, const Body& body) {
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto run = [&](std::int64_t item, Workspace& workspace) {
    try {
      body(item, workspace);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  if (schedule == LoopSchedule::equal_blocks) {
#pragma omp parallel
    {
      Workspace workspace;
#pragma omp for schedule(static)
      for (std::int64_t item = 0; item < count; ++item) run(item, workspace);
    }
  } else {
#pragma omp parallel
    {
      Workspace workspace;
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t item = 0; item < count; ++item) run(item, workspace);
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace icl
