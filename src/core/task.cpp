#include "core/task.hpp"

#include "core/errors.hpp"
#include "core/parse.hpp"
#include "core/shift.hpp"

#include <cmath>
#include <numeric>
#include <vector>

namespace icl {

Task Task::parse(std::string_view text) {
  Task task;
  task.text = std::string(text);
  const std::string what = "task " + quote(std::string(text));
  std::string_view body = text;
  if (const auto plus = text.find('+'); plus != std::string_view::npos) {
    const std::string_view suffix = text.substr(plus + 1);
    if (suffix.substr(0, 6) != "noise=")
      throw ConfigError(what + ": expected '+noise=s' after the task name");
    task.noise_std = parse_finite_double(suffix.substr(6), what);
    if (!(task.noise_std >= 0.0 && task.noise_std <= shift_parameter_max))
      throw ConfigError(what + ": expected a noise level in [0, 1e+06]");
    body = text.substr(0, plus);
  }
  const auto colon = body.find(':');
  const std::string_view name = body.substr(0, colon);
  auto positive_integer = [&] {
    if (colon == std::string_view::npos) throw ConfigError(what + ": expected a count after ':'");
    const long long value = parse_integer(body.substr(colon + 1), what);
    if (value < 1 || value > 100000) throw ConfigError(what + ": expected a count in [1, 100000]");
    return static_cast<int>(value);
  };
  if (name == "linear" && colon == std::string_view::npos)
    task.kind = TaskKind::linear;
  else if (name == "sparse")
    task.kind = TaskKind::sparse, task.parameter = positive_integer();
  else if (name == "quadratic" && colon == std::string_view::npos)
    task.kind = TaskKind::quadratic;
  else if (name == "relu" && colon == std::string_view::npos)
    task.kind = TaskKind::relu;
  else if (name == "tanh" && colon == std::string_view::npos)
    task.kind = TaskKind::tanh;
  else if (name == "relu-2nn")
    task.kind = TaskKind::relu_2nn, task.parameter = positive_integer();
  else
    throw ConfigError(what +
                      ": unknown task, expected one of linear, sparse:k, quadratic, relu, tanh, "
                      "relu-2nn:h, each optionally followed by +noise=s");
  return task;
}

double Task::linear_second_moment(int dim) const {
  return kind == TaskKind::sparse ? static_cast<double>(std::min(parameter, dim)) / dim : 1.0;
}

void draw_task(const Task& task, int dim, RandomStream& random, TaskDraw& draw) {
  draw.w.resize(dim);
  random.fill_normal(draw.w);
  switch (task.kind) {
    case TaskKind::sparse: {
      // Keep k coordinates chosen uniformly (a partial Fisher-Yates shuffle).
      const int k = std::min(task.parameter, dim);
      std::vector<int> order(dim);
      std::iota(order.begin(), order.end(), 0);
      for (int i = 0; i < k; ++i)
        std::swap(order[i], order[i + random.index(static_cast<std::uint32_t>(dim - i))]);
      Eigen::VectorXd sparse = Eigen::VectorXd::Zero(dim);
      for (int i = 0; i < k; ++i) sparse(order[i]) = draw.w(order[i]);
      draw.w = sparse;
      break;
    }
    case TaskKind::quadratic:
      draw.v.resize(dim);
      random.fill_normal(draw.v);
      draw.v /= std::sqrt(static_cast<double>(dim));
      break;
    case TaskKind::relu_2nn:
      draw.hidden.resize(task.parameter, dim);
      random.fill_normal(draw.hidden);
      draw.outputs.resize(task.parameter);
      random.fill_normal(draw.outputs);
      draw.outputs *= std::sqrt(2.0 / task.parameter);
      break;
    default:
      break;
  }
}

void task_labels(const Task& task, const TaskDraw& draw, const Eigen::MatrixXd& inputs,
                 Eigen::VectorXd& labels) {
  switch (task.kind) {
    case TaskKind::linear:
    case TaskKind::sparse:
      labels.noalias() = inputs.transpose() * draw.w;
      break;
    case TaskKind::quadratic: {
      labels.noalias() = inputs.transpose() * draw.w;
      const Eigen::VectorXd projections = inputs.transpose() * draw.v;
      labels.array() += 0.5 * projections.array().square();
      break;
    }
    case TaskKind::relu:
      labels.noalias() = inputs.transpose() * draw.w;
      labels = labels.cwiseMax(0.0);
      break;
    case TaskKind::tanh:
      labels.noalias() = inputs.transpose() * draw.w;
      labels = labels.array().tanh();
      break;
    case TaskKind::relu_2nn: {
      const Eigen::MatrixXd activations = (draw.hidden * inputs).cwiseMax(0.0);  // h x n
      labels.noalias() = activations.transpose() * draw.outputs;
      break;
    }
  }
}

}  // namespace icl
