#include "core/prompt.hpp"

#include "core/errors.hpp"

#include <string>

namespace icl {

void compute_moments(const Prompt& prompt, PromptMoments& moments) {
  const double n = prompt.length();
  moments.label_weighted_mean.noalias() = prompt.inputs * prompt.labels;
  moments.label_weighted_mean /= n;
  moments.label_second_moment = prompt.labels.squaredNorm() / n;
}

PromptSampler::PromptSampler(const Covariance& covariance, int length, double noise_std)
    : covariance_(covariance), length_(length), noise_std_(noise_std) {
  if (length < 1) throw ConfigError("prompt length " + std::to_string(length) + " < 1");
  if (!(noise_std >= 0.0))
    throw ConfigError("label noise standard deviation must be >= 0, got " +
                      std::to_string(noise_std));
}

void PromptSampler::sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
                           Prompt& out) const {
  const int dim = covariance_.dim();
  out.inputs.resize(dim, length_);
  out.labels.resize(length_);
  out.query.resize(dim);
  out.task.resize(dim);

  RandomStream task_random(seed, {point, prompt_index, Stream::task});
  task_random.fill_normal(out.task);

  if (covariance_.is_random()) {
    RandomStream covariance_random(seed, {point, prompt_index, Stream::covariance});
    covariance_.draw_random_diagonal(covariance_random, out.random_diagonal);
  } else {
    out.random_diagonal.resize(0);
  }

  RandomStream input_random(seed, {point, prompt_index, Stream::inputs});
  input_random.fill_normal(out.inputs);
  covariance_.transform(out.inputs, out.random_diagonal);

  RandomStream query_random(seed, {point, prompt_index, Stream::query});
  query_random.fill_normal(out.query);
  covariance_.transform(out.query, out.random_diagonal);

  out.labels.noalias() = out.inputs.transpose() * out.task;
  out.query_label = out.task.dot(out.query);
  if (noise_std_ > 0.0) {
    RandomStream noise_random(seed, {point, prompt_index, Stream::noise});
    for (int i = 0; i < length_; ++i) out.labels(i) += noise_std_ * noise_random.normal();
    out.query_label += noise_std_ * noise_random.normal();
  }
}

Eigen::MatrixXd embed(const Prompt& prompt) {
  const int dim = prompt.dim();
  const int n = prompt.length();
  Eigen::MatrixXd embedding(dim + 1, n + 1);
  embedding.topLeftCorner(dim, n) = prompt.inputs;
  embedding.topRightCorner(dim, 1) = prompt.query;
  embedding.bottomLeftCorner(1, n) = prompt.labels.transpose();
  embedding(dim, n) = 0.0;
  return embedding;
}

}  // namespace icl
