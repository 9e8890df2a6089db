#include "core/grid_point.hpp"

#include "core/baselines.hpp"
#include "core/rng.hpp"

#include <algorithm>

namespace icl {

PromptLaw GridPoint::test_law(std::uint64_t seed) const {
  return PromptLaw::shifted(*inputs, shift_law, seed, task_law);
}

PromptLaw GridPoint::training_law() const {
  return PromptLaw::unshifted(*inputs, task_law);
}

std::uint64_t GridPoint::tuning_address() const {
  return step_tuning_address(dim, train_length, covariance, task, std::max(model_spec.depth, 1));
}

GridPoint make_grid_point(int dim, int train_length, int test_length, const std::string& shift,
                          const std::string& covariance, const std::string& task,
                          const std::string& model, std::uint64_t seed,
                          std::shared_ptr<const Covariance> inputs) {
  GridPoint point;
  point.dim = dim;
  point.train_length = train_length;
  point.test_length = test_length;
  point.shift = shift;
  point.covariance = covariance;
  point.task = task;
  point.model = model;
  point.inputs = inputs
                     ? std::move(inputs)
                     : std::make_shared<const Covariance>(Covariance::parse(covariance, dim, seed));
  point.shift_law = Shift::parse(shift);
  point.task_law = Task::parse(task);
  point.model_spec = parse_model(model);
  return point;
}

std::string describe(const GridPoint& point) {
  std::string text = "point d=" + std::to_string(point.dim) +
                     " N=" + std::to_string(point.train_length) +
                     " M=" + std::to_string(point.test_length) + " shift=" + point.shift +
                     " covariance=" + point.covariance + " task=" + point.task;
  if (point.model != "lsa") text += " model=" + point.model;
  return text;
}

}  // namespace icl
