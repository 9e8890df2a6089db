#include "evaluation/sufficient.hpp"

#include "core/errors.hpp"
#include "core/rng.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include <cmath>

namespace icl {
namespace {

/// Eigenvalues of S below this fraction of the largest count as zero (S is formed from X̃ in
/// double precision, so its structurally zero eigenvalues sit near 1e-16 of the largest).
constexpr double rank_tolerance = 1e-10;

bool is_diagonal(const Eigen::MatrixXd& matrix) {
  Eigen::MatrixXd off = matrix;
  off.diagonal().setZero();
  return off.isZero(0.0);
}

struct PseudoInverse {
  Eigen::MatrixXd inverse;    ///< S^+
  Eigen::MatrixXd projector;  ///< S^+ S, the projector onto the range of S
};

PseudoInverse pseudo_inverse(const Eigen::MatrixXd& s) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(s);
  const Eigen::VectorXd& values = eigen.eigenvalues();
  const double threshold = rank_tolerance * std::max(values.cwiseAbs().maxCoeff(), 0.0);
  const int dim = static_cast<int>(s.rows());
  Eigen::VectorXd inverted = Eigen::VectorXd::Zero(dim), kept = Eigen::VectorXd::Zero(dim);
  for (int i = 0; i < dim; ++i)
    if (values(i) > threshold) {
      inverted(i) = 1.0 / values(i);
      kept(i) = 1.0;
    }
  const Eigen::MatrixXd& u = eigen.eigenvectors();
  return {u * inverted.asDiagonal() * u.transpose(), u * kept.asDiagonal() * u.transpose()};
}

}  // namespace

std::string sufficient_sampler_obstacle(const PromptLaw& law) {
  if (!law.task.is_linear()) return "task '" + law.task.text + "' is not linear";
  if (law.random_quadrants) return "random-quadrants inputs are not Gaussian";
  if (law.query_rule == QueryRule::orthogonal) return "orthogonal-query depends on the prompt";
  if (law.query_rule == QueryRule::overlapping) return "overlapping-query depends on the prompt";
  return {};
}

SufficientSampler::SufficientSampler(PromptLaw law, int length)
    : law_(std::move(law)), length_(length) {
  if (const auto obstacle = sufficient_sampler_obstacle(law_); !obstacle.empty())
    throw ConfigError("sampler 'sufficient': " + obstacle);
  if (length < 1) throw ConfigError("prompt length " + std::to_string(length) + " < 1");
  const int d = dim();
  task_moment_ = law_.task.linear_second_moment(d);
  label_scale_ = law_.task_scale;
  noise_variance_ = law_.noise_std * law_.noise_std;
  const bool has_transform = law_.transform.size() > 0;
  const Covariance& query_base = law_.query_covariance ? *law_.query_covariance : law_.inputs;
  query_fixed_ = !query_base.is_random();
  if (query_fixed_) {
    fixed_query_ = query_base.matrix();
    if (has_transform) fixed_query_ = law_.transform * fixed_query_ * law_.transform.transpose();
    fixed_query_ *= law_.query_scale * law_.query_scale;
    query_diagonal_ = is_diagonal(fixed_query_);
  } else {
    query_diagonal_ = !has_transform;
  }
  full_rank_ = length_ >= d;
  if (full_rank_ && has_transform) {
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(law_.transform);
    const Eigen::VectorXd& values = svd.singularValues();
    full_rank_ = values(d - 1) > rank_tolerance * values(0);
  }
}

void SufficientSampler::sample(std::uint64_t seed, std::uint64_t point, std::uint32_t prompt_index,
                               SufficientDraw& out) const {
  const int d = dim();
  const Covariance& inputs = law_.inputs;
  if (inputs.is_random()) {
    RandomStream covariance_random(seed, {point, prompt_index, Stream::covariance});
    inputs.draw_random_diagonal(covariance_random, out.random_diagonal);
  } else {
    out.random_diagonal.resize(0);
  }

  RandomStream input_random(seed, {point, prompt_index, Stream::inputs});
  Eigen::MatrixXd& factor = out.scaled_inputs;
  if (length_ >= d) {
    // Bartlett: Z Zᵀ = L Lᵀ in law.
    factor.setZero(d, d);
    for (int i = 0; i < d; ++i) {
      factor(i, i) = std::sqrt(2.0 * gamma_variate(0.5 * (length_ - i), input_random));
      for (int j = 0; j < i; ++j) factor(i, j) = input_random.normal();
    }
  } else {
    factor.resize(d, length_);
    input_random.fill_normal(factor);
  }
  inputs.transform(factor, out.random_diagonal);
  const bool transformed = law_.transform.size() > 0;
  if (transformed) factor = (law_.transform * factor).eval();
  if (length_ >= d && !transformed && (inputs.is_random() || inputs.is_diagonal())) {
    // Bartlett's L scaled by rows is still lower triangular: a third of the flops.
    out.second_moment.noalias() =
        factor.triangularView<Eigen::Lower>() * factor.transpose() / static_cast<double>(length_);
  } else {
    out.second_moment.noalias() = factor * factor.transpose();
    out.second_moment /= static_cast<double>(length_);
  }

  out.row_norms = out.second_moment.rowwise().squaredNorm();
  if (query_fixed_) {
    out.query_diagonal.resize(0);
    return;
  }
  // Σ_q of this prompt: the random query covariance's own draw, or the prompt's Λ_τ.
  const Eigen::VectorXd* diagonal = &out.random_diagonal;
  if (law_.query_covariance) {
    RandomStream shift_random(seed, {point, prompt_index, Stream::shift});
    law_.query_covariance->draw_random_diagonal(shift_random, out.query_diagonal);
    diagonal = &out.query_diagonal;
  } else {
    out.query_diagonal.resize(0);
  }
  const double scale2 = law_.query_scale * law_.query_scale;
  if (law_.transform.size() > 0)
    out.query_covariance =
        scale2 * law_.transform * diagonal->asDiagonal() * law_.transform.transpose();
  else
    out.query_covariance = (scale2 * *diagonal).asDiagonal();
}

const Eigen::MatrixXd& SufficientSampler::query_covariance(const SufficientDraw& draw) const {
  return query_fixed_ ? fixed_query_ : draw.query_covariance;
}

void SufficientSampler::complete(std::uint64_t seed, std::uint64_t point,
                                 std::uint32_t prompt_index, const SufficientDraw& draw,
                                 SufficientPrompt& out) const {
  const int d = dim();
  RandomStream task_random(seed, {point, prompt_index, Stream::task});
  TaskDraw task;
  draw_task(law_.task, d, task_random, task);
  out.task = label_scale_ * task.w;  // labels ↦ a · labels is w ↦ a w for a linear task

  out.label_weighted_mean.noalias() = draw.second_moment * out.task;
  RandomStream noise_random(seed, {point, prompt_index, Stream::noise});
  if (noise_variance_ > 0.0) {
    Eigen::VectorXd g(draw.scaled_inputs.cols());
    noise_random.fill_normal(g);
    out.label_weighted_mean.noalias() += (law_.noise_std / length_) * (draw.scaled_inputs * g);
  }

  RandomStream query_random(seed, {point, prompt_index, Stream::query});
  out.query.resize(d);
  query_random.fill_normal(out.query);
  if (law_.query_covariance)
    law_.query_covariance->transform(out.query, draw.query_diagonal);
  else
    law_.inputs.transform(out.query, draw.random_diagonal);
  if (law_.transform.size() > 0) out.query = (law_.transform * out.query).eval();
  out.query *= law_.query_scale;
  out.query_label = out.task.dot(out.query);
  if (noise_variance_ > 0.0) out.query_label += law_.noise_std * noise_random.normal();
}

Eigen::MatrixXd SufficientSampler::preconditioner(const LinearForm& form,
                                                  const SufficientDraw& draw) const {
  if (form.kind == LinearForm::Kind::fixed) return form.preconditioner;
  const Eigen::MatrixXd& s = draw.second_moment;
  const int d = dim();
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(d, d);
  if (form.penalty > 0.0) {
    Eigen::MatrixXd regularised = s;
    regularised.diagonal().array() += form.penalty / length_;
    return regularised.llt().solve(identity);
  }
  if (full_rank_) return s.llt().solve(identity);
  return pseudo_inverse(s).inverse;
}

double SufficientSampler::predict(const LinearForm& form, const SufficientDraw& draw,
                                  const SufficientPrompt& prompt) const {
  return prompt.label_weighted_mean.dot(preconditioner(form, draw) * prompt.query);
}

double SufficientSampler::query_quadratic(const Eigen::MatrixXd& t,
                                          const Eigen::MatrixXd& sigma) const {
  if (query_diagonal_) return (t.cwiseAbs2().transpose() * sigma.diagonal()).sum();
  return (sigma * t).cwiseProduct(t).sum();
}

double SufficientSampler::conditional_risk(const LinearForm& form,
                                           const SufficientDraw& draw) const {
  const Eigen::MatrixXd& s = draw.second_moment;
  const Eigen::MatrixXd& sigma = query_covariance(draw);
  const double signal = label_scale_ * label_scale_ * task_moment_;
  const double noise_per_sample = noise_variance_ / length_;

  if (form.kind == LinearForm::Kind::least_squares && form.penalty == 0.0) {
    // V = S^+: VS − I = −(I − Π) and tr(V Σ_q V S) = tr(Σ_q S^+).
    if (full_rank_) {
      if (noise_variance_ == 0.0) return 0.0;
      const Eigen::LLT<Eigen::MatrixXd> cholesky(s);
      return noise_per_sample * cholesky.solve(sigma).trace() + noise_variance_;
    }
    const PseudoInverse pinv = pseudo_inverse(s);
    Eigen::MatrixXd residual = -pinv.projector;
    residual.diagonal().array() += 1.0;
    double risk = signal * query_quadratic(residual, sigma) + noise_variance_;
    if (noise_variance_ > 0.0) risk += noise_per_sample * (pinv.inverse * sigma).trace();
    return risk;
  }

  if (form.kind == LinearForm::Kind::fixed && form.diagonal && query_diagonal_) {
    // V = diag(v) and Σ_q = diag(σ) (lsa-theory and best-lsa on diagonal covariances, gd1, zero):
    // tr(Tᵀ Σ_q T) = Σ_i σ_i (v_i² ‖S_i·‖² − 2 v_i S_ii + 1), tr(V Σ_q V S) = Σ_i σ_i v_i² S_ii.
    const int d = dim();
    double quadratic = 0, noise = 0;
    for (int i = 0; i < d; ++i) {
      const double v = form.preconditioner(i, i), sigma_i = sigma(i, i), s_ii = s(i, i);
      quadratic += sigma_i * (v * v * draw.row_norms(i) - 2.0 * v * s_ii + 1.0);
      noise += sigma_i * v * v * s_ii;
    }
    return signal * quadratic + noise_per_sample * noise + noise_variance_;
  }
  if (form.kind == LinearForm::Kind::fixed && form.diagonal) {
    const Eigen::VectorXd v = form.preconditioner.diagonal();
    Eigen::MatrixXd t = v.asDiagonal() * s;
    t.diagonal().array() -= 1.0;
    double risk = signal * query_quadratic(t, sigma) + noise_variance_;
    if (noise_variance_ > 0.0)
      risk += noise_per_sample * sigma.cwiseProduct(v.asDiagonal() * s * v.asDiagonal()).sum();
    return risk;
  }
  const Eigen::MatrixXd v = preconditioner(form, draw);
  Eigen::MatrixXd t = v.transpose() * s;
  t.diagonal().array() -= 1.0;
  double risk = signal * query_quadratic(t, sigma) + noise_variance_;
  if (noise_variance_ > 0.0) {
    // tr(V Σ_q Vᵀ S) = tr(Σ_q Vᵀ S V) = Σ (Σ_q ⊙ Vᵀ S V), both factors symmetric.
    risk += noise_per_sample * sigma.cwiseProduct(v.transpose() * s * v).sum();
  }
  return risk;
}

}  // namespace icl
