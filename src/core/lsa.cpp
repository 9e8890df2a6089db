#include "core/lsa.hpp"

namespace icl {

LsaParameters LsaParameters::zero(int dim) {
  return {Eigen::MatrixXd::Zero(dim + 1, dim + 1), Eigen::MatrixXd::Zero(dim + 1, dim + 1)};
}

Eigen::MatrixXd lsa_forward(const Eigen::MatrixXd& embedding, const LsaParameters& parameters) {
  const double n = static_cast<double>(embedding.cols() - 1);
  const Eigen::MatrixXd attention = embedding.transpose() * parameters.key_query * embedding;
  return embedding + parameters.value_projection * embedding * attention / n;
}

double lsa_predict_full(const Prompt& prompt, const LsaParameters& parameters) {
  const Eigen::MatrixXd output = lsa_forward(embed(prompt), parameters);
  return output(prompt.dim(), prompt.length());
}

double lsa_predict_reduced(const Prompt& prompt, const LsaParameters& parameters) {
  PromptMoments moments;
  compute_moments(prompt, moments);
  return lsa_predict_reduced(prompt, moments, parameters);
}

double lsa_predict_reduced(const Prompt& prompt, const PromptMoments& moments,
                           const LsaParameters& parameters) {
  const int dim = prompt.dim();
  const double n = prompt.length();
  const auto& pv = parameters.value_projection;
  const auto& kq = parameters.key_query;
  const Eigen::VectorXd p = pv.row(dim).head(dim).transpose();
  const double u = pv(dim, dim);
  const auto U = kq.topLeftCorner(dim, dim);
  const Eigen::VectorXd q = kq.row(dim).head(dim).transpose();

  const Eigen::VectorXd u_times_query = U * prompt.query;
  // pᵀ S U x_q = (1/n) Σ (pᵀx_i)(x_iᵀ U x_q), without forming S.
  const Eigen::VectorXd p_projections = prompt.inputs.transpose() * p;
  const Eigen::VectorXd u_projections = prompt.inputs.transpose() * u_times_query;
  const double p_s_u_query = p_projections.dot(u_projections) / n;
  const double q_query = q.dot(prompt.query);
  return p_s_u_query + p.dot(prompt.query) * prompt.query.dot(u_times_query) / n +
         p.dot(moments.label_weighted_mean) * q_query +
         u * moments.label_weighted_mean.dot(u_times_query) +
         u * moments.label_second_moment * q_query;
}

Eigen::MatrixXd effective_preconditioner(const LsaParameters& parameters) {
  const int dim = parameters.dim();
  const auto& pv = parameters.value_projection;
  const auto& kq = parameters.key_query;
  const Eigen::VectorXd p = pv.row(dim).head(dim).transpose();
  const Eigen::VectorXd q = kq.row(dim).head(dim).transpose();
  return pv(dim, dim) * kq.topLeftCorner(dim, dim) + p * q.transpose();
}

}  // namespace icl
