#pragma once
/// Regression tasks: how a prompt's labels depend on its inputs (config axis `task`, default
/// linear).
///   linear            y = <w, x>,                         w ~ N(0, I)
///   sparse:k          y = <w, x>, w with k non-zero N(0, 1) entries at uniformly random positions
///   quadratic         y = <w, x> + ½ <v, x>²,             w ~ N(0, I), v ~ N(0, I/d)
///   relu              y = max(0, <w, x>),                 w ~ N(0, I)
///   tanh              y = tanh(<w, x>),                   w ~ N(0, I)
///   relu-2nn:h        y = Σ_{j≤h} α_j max(0, <w_j, x>),   w_j ~ N(0, I), α_j ~ N(0, 2/h) (Garg)
/// Any of them may end in "+noise=s": label noise N(0, s²) on prompt and query labels.
/// Every task draws fresh parameters per prompt.
#include "core/rng.hpp"

#include <Eigen/Core>

#include <string>
#include <string_view>

namespace icl {

enum class TaskKind { linear, sparse, quadratic, relu, tanh, relu_2nn };

struct Task {
  std::string text = "linear";
  TaskKind kind = TaskKind::linear;
  int parameter = 0;       ///< k of sparse:k, h of relu-2nn:h
  double noise_std = 0.0;  ///< from "+noise=s"

  /// Throws ConfigError naming the text and listing the valid tasks.
  static Task parse(std::string_view text);
  bool is_linear() const { return kind == TaskKind::linear || kind == TaskKind::sparse; }
  /// E[w wᵀ] = second_moment · I for the linear kinds (1 for linear, k/d for sparse:k).
  double linear_second_moment(int dim) const;
};

/// The parameters of one prompt's task.
struct TaskDraw {
  Eigen::VectorXd w;        ///< linear part / single index
  Eigen::VectorXd v;        ///< quadratic part
  Eigen::MatrixXd hidden;   ///< relu-2nn: h x d
  Eigen::VectorXd outputs;  ///< relu-2nn: α
};

void draw_task(const Task& task, int dim, RandomStream& random, TaskDraw& draw);
/// Noise-free labels of the columns of `inputs` (d x n).
void task_labels(const Task& task, const TaskDraw& draw, const Eigen::MatrixXd& inputs,
                 Eigen::VectorXd& labels);

}  // namespace icl
