#include "training/compressed_prompts.hpp"

#include "core/errors.hpp"
#include "core/rng.hpp"

#include <cmath>
#include <string>

namespace icl {
namespace {

/// q: the inputs' d columns and, with label noise, the noise's.
int compressed_columns(const PromptLaw& law) {
  return law.dim() + (law.noise_std > 0.0 ? 1 : 0);
}

}  // namespace

std::string compressed_prompt_obstacle(const PromptLaw& law, int length) {
  if (!law.task.is_linear()) return "the task '" + law.task.text + "' is not linear";
  if (!law.is_gaussian_independent() || law.query_covariance || law.transform.size() > 0)
    return "the law is not a training law";
  const int columns = compressed_columns(law);
  if (length < columns)
    return "the prompt length " + std::to_string(length) + " is below the " +
           std::to_string(columns) + " columns of the compressed prompt";
  return {};
}

CompressedPromptSampler::CompressedPromptSampler(PromptLaw law, int length)
    : law_(std::move(law)),
      length_(length),
      columns_(compressed_columns(law_)) {
  if (const auto obstacle = compressed_prompt_obstacle(law_, length_); !obstacle.empty())
    throw ConfigError("compressed training prompts: " + obstacle);
}

void CompressedPromptSampler::sample(std::uint64_t seed, std::uint64_t point,
                                     std::uint32_t prompt_index, Prompt& out) const {
  const Covariance& inputs = law_.inputs;
  const int dim = inputs.dim();
  const int q = columns_;
  out.query.resize(dim);

  thread_local TaskDraw draw;
  draw_task_and_covariance(law_, seed, point, prompt_index, draw, out);

  // Bartlett's L (q x q, lower triangular), row by row; its first d rows become the inputs.
  thread_local Eigen::MatrixXd bartlett;
  bartlett.setZero(q, q);
  RandomStream input_random(seed, {point, prompt_index, Stream::inputs});
  for (int j = 0; j < q; ++j) {
    bartlett(j, j) = std::sqrt(2.0 * gamma_variate(0.5 * (length_ - j), input_random));
    for (int k = 0; k < j; ++k) bartlett(j, k) = input_random.normal();
  }
  out.inputs = bartlett.topRows(dim);
  inputs.transform(out.inputs, out.random_diagonal);
  out.labels.noalias() = out.inputs.transpose() * out.task;

  RandomStream query_random(seed, {point, prompt_index, Stream::query});
  query_random.fill_normal(out.query);
  inputs.transform(out.query, out.random_diagonal);
  out.query_label = out.task.dot(out.query);
  if (law_.task_scale != 1.0) {
    out.task *= law_.task_scale;
    out.labels *= law_.task_scale;
    out.query_label *= law_.task_scale;
  }
  if (law_.noise_std > 0.0) {
    out.labels += law_.noise_std * bartlett.row(dim).transpose();
    RandomStream noise_random(seed, {point, prompt_index, Stream::noise});
    out.query_label += law_.noise_std * noise_random.normal();
  }
}

}  // namespace icl
