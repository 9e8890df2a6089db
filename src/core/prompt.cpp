#include "core/prompt.hpp"

#include "core/errors.hpp"

#include <Eigen/QR>

#include <cmath>

#include <string>

namespace icl {

void compute_moments(const Prompt& prompt, PromptMoments& moments) {
  const double n = prompt.length();
  moments.label_weighted_mean.noalias() = prompt.inputs * prompt.labels;
  moments.label_weighted_mean /= n;
  moments.label_second_moment = prompt.labels.squaredNorm() / n;
}

namespace {

/// A = U diag(λ) Uᵀ with U Haar-random (fixed by seed and d), scaled so that tr(A Λ Aᵀ) = d.
/// skewed: λ_i = 1/i for i = 1…d, as Garg et al.'s evaluation scales x (so the covariance of Ax
/// has eigenvalues ∝ 1/i² when Λ = I: condition number d²).
Eigen::MatrixXd garg_transform(const Covariance& covariance, const Shift& shift,
                               std::uint64_t seed) {
  const int dim = covariance.dim();
  RandomStream random(seed,
                      {stable_hash(shift.text + "|d=" + std::to_string(dim)), 0, Stream::shift});
  const Eigen::MatrixXd rotation = haar_orthogonal(dim, random);
  Eigen::VectorXd lambda(dim);
  for (int i = 0; i < dim; ++i)
    lambda(i) = shift.kind == ShiftKind::skewed ? 1.0 / (i + 1.0) : (i < dim / 2 ? 1.0 : 0.0);
  Eigen::MatrixXd transform = rotation * lambda.asDiagonal() * rotation.transpose();
  const double trace = (transform * covariance.matrix() * transform.transpose()).trace();
  if (!(trace > 0.0))
    throw ConfigError("shift '" + shift.text + "' needs d >= 2 (the shifted covariance is zero)");
  return transform * std::sqrt(dim / trace);
}

}  // namespace

PromptLaw PromptLaw::unshifted(const Covariance& covariance, const Task& task) {
  PromptLaw law(covariance, task.noise_std);
  law.task = task;
  return law;
}

PromptLaw PromptLaw::shifted(const Covariance& training, const Shift& shift, std::uint64_t seed,
                             const Task& task) {
  PromptLaw law = unshifted(training, task);
  const int dim = training.dim();
  switch (shift.kind) {
    case ShiftKind::none:
      break;
    case ShiftKind::task_scale:
      law.task_scale = shift.value;
      break;
    case ShiftKind::noisy:
      law.noise_std = std::hypot(task.noise_std, shift.value);
      break;
    case ShiftKind::query_scale:
      law.query_scale = shift.value;
      break;
    case ShiftKind::query_cov:
      law.query_covariance = Covariance::parse(shift.spec, dim, seed);
      break;
    case ShiftKind::scale_x:
      law.inputs = training.scaled(shift.value);
      break;
    case ShiftKind::test_cov:
      law.inputs = Covariance::parse(shift.spec, dim, seed);
      break;
    case ShiftKind::random_cov_scale:
      // Λ_τ = c · diag(Exp(1)): inputs scaled by √c.
      law.inputs = Covariance::parse("random-exp", dim, seed).scaled(std::sqrt(shift.value));
      break;
    case ShiftKind::skewed:
    case ShiftKind::half_subspace:
      if (training.is_random())
        throw ConfigError("shift '" + shift.text + "' needs a fixed training covariance, not '" +
                          training.spec() + "'");
      law.transform = garg_transform(training, shift, seed);
      break;
    case ShiftKind::random_quadrants:
      law.random_quadrants = true;
      break;
    case ShiftKind::orthogonal_query:
      law.query_rule = QueryRule::orthogonal;
      break;
    case ShiftKind::overlapping_query:
      law.query_rule = QueryRule::overlapping;
      break;
  }
  return law;
}

PromptSampler::PromptSampler(PromptLaw law, int length) : law_(std::move(law)), length_(length) {
  if (length < 1) throw ConfigError("prompt length " + std::to_string(length) + " < 1");
  if (!(law_.noise_std >= 0.0))
    throw ConfigError("label noise standard deviation must be >= 0, got " +
                      std::to_string(law_.noise_std));
}

PromptSampler::PromptSampler(const Covariance& covariance, int length, double noise_std)
    : PromptSampler(PromptLaw(covariance, noise_std), length) {}

void draw_task_and_covariance(const PromptLaw& law, std::uint64_t seed, std::uint64_t point,
                              std::uint32_t prompt_index, TaskDraw& draw, Prompt& out) {
  RandomStream task_random(seed, {point, prompt_index, Stream::task});
  draw_task(law.task, law.dim(), task_random, draw);
  out.task = draw.w;
  if (law.inputs.is_random()) {
    RandomStream covariance_random(seed, {point, prompt_index, Stream::covariance});
    law.inputs.draw_random_diagonal(covariance_random, out.random_diagonal);
  } else {
    out.random_diagonal.resize(0);
  }
}

void PromptSampler::sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
                           Prompt& out) const {
  const Covariance& inputs = law_.inputs;
  const int dim = inputs.dim();
  out.inputs.resize(dim, length_);
  out.labels.resize(length_);
  out.query.resize(dim);

  thread_local TaskDraw draw;
  draw_task_and_covariance(law_, seed, point, prompt_index, draw, out);

  RandomStream input_random(seed, {point, prompt_index, Stream::inputs});
  input_random.fill_normal(out.inputs);
  inputs.transform(out.inputs, out.random_diagonal);

  RandomStream query_random(seed, {point, prompt_index, Stream::query});
  query_random.fill_normal(out.query);
  if (law_.query_covariance) {
    Eigen::VectorXd query_diagonal;
    if (law_.query_covariance->is_random()) {
      RandomStream shift_random(seed, {point, prompt_index, Stream::shift});
      law_.query_covariance->draw_random_diagonal(shift_random, query_diagonal);
    }
    law_.query_covariance->transform(out.query, query_diagonal);
  } else {
    inputs.transform(out.query, out.random_diagonal);
  }
  if (law_.transform.size() > 0) {
    out.inputs = (law_.transform * out.inputs).eval();
    out.query = (law_.transform * out.query).eval();
  }
  if (law_.query_scale != 1.0) out.query *= law_.query_scale;

  if (law_.random_quadrants) {
    RandomStream sign_random(seed, {point, prompt_index, Stream::shift});
    for (int i = 0; i < dim; ++i) {
      const double sign = (sign_random.bits() & 1u) ? 1.0 : -1.0;
      out.inputs.row(i) = sign * out.inputs.row(i).cwiseAbs();
    }
  }
  if (law_.query_rule == QueryRule::orthogonal) {
    // Remove the component in span(x_1 … x_M) (a thin QR of the inputs), keep the norm.
    const double norm = out.query.norm();
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(out.inputs);
    const int rank = std::min(dim, length_);
    const Eigen::MatrixXd basis = qr.householderQ() * Eigen::MatrixXd::Identity(dim, rank);
    out.query -= basis * (basis.transpose() * out.query);
    const double remaining = out.query.norm();
    if (remaining > 0.0) out.query *= norm / remaining;
  } else if (law_.query_rule == QueryRule::overlapping) {
    RandomStream pick(seed, {point, prompt_index, Stream::shift});
    out.query = out.inputs.col(pick.index(static_cast<std::uint32_t>(length_)));
  }

  task_labels(law_.task, draw, out.inputs, out.labels);
  if (law_.task.is_linear()) {
    out.query_label = out.task.dot(out.query);
  } else {
    Eigen::VectorXd query_label(1);
    task_labels(law_.task, draw, out.query, query_label);
    out.query_label = query_label(0);
  }
  if (law_.task_scale != 1.0) {
    out.task *= law_.task_scale;
    out.labels *= law_.task_scale;
    out.query_label *= law_.task_scale;
  }
  if (law_.noise_std > 0.0) {
    RandomStream noise_random(seed, {point, prompt_index, Stream::noise});
    for (int i = 0; i < length_; ++i) out.labels(i) += law_.noise_std * noise_random.normal();
    out.query_label += law_.noise_std * noise_random.normal();
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
