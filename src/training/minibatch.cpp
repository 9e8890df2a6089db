#include "training/minibatch.hpp"

#include <limits>

namespace icl {

std::optional<std::string> minibatch_budget_problem(std::uint64_t steps, std::uint64_t batch) {
  if (steps == 0 || batch == 0) return "steps and batch must be positive";
  if (steps * batch > std::numeric_limits<std::uint32_t>::max())
    return "steps x batch must stay below 2^32 training prompts (the random-number counter's "
           "range)";
  return std::nullopt;
}

}  // namespace icl
