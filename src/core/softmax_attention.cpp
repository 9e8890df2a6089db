#include "core/softmax_attention.hpp"

#include "core/errors.hpp"

#include <cmath>

namespace icl {
namespace {

/// Column-wise softmax over the rows (keys), stabilised by each column's maximum.
Eigen::MatrixXd softmax_columns(const Eigen::MatrixXd& scores) {
  Eigen::MatrixXd weights(scores.rows(), scores.cols());
  for (Eigen::Index j = 0; j < scores.cols(); ++j) {
    const double top = scores.col(j).maxCoeff();
    weights.col(j) = (scores.col(j).array() - top).exp();
    weights.col(j) /= weights.col(j).sum();
  }
  return weights;
}

struct LayerCache {
  Eigen::MatrixXd input;                 ///< Z_l
  std::vector<Eigen::MatrixXd> weights;  ///< A_{l,h}, n x (n + 1)
};

std::vector<LayerCache> forward(const Eigen::MatrixXd& embedding,
                                const SoftmaxParameters& parameters, Eigen::MatrixXd& output) {
  const Eigen::Index n = embedding.cols() - 1;
  std::vector<LayerCache> caches;
  Eigen::MatrixXd z = embedding;
  for (int l = 0; l < parameters.depth(); ++l) {
    LayerCache cache;
    cache.input = z;
    Eigen::MatrixXd next = z;
    const auto keys = z.leftCols(n);
    for (int h = 0; h < parameters.heads; ++h) {
      const auto& head = parameters.weights[static_cast<std::size_t>(l * parameters.heads + h)];
      cache.weights.push_back(softmax_columns(keys.transpose() * head.key_query * z));
      next.noalias() += head.value_projection * (keys * cache.weights.back());
    }
    caches.push_back(std::move(cache));
    z = std::move(next);
  }
  output = std::move(z);
  return caches;
}

}  // namespace

SoftmaxParameters SoftmaxParameters::zero(int dim, int depth, int heads) {
  if (depth < 1 || heads < 1) throw ConfigError("softmax attention needs L >= 1 and H >= 1");
  SoftmaxParameters parameters;
  parameters.heads = heads;
  parameters.weights.assign(static_cast<std::size_t>(depth * heads), LsaParameters::zero(dim));
  return parameters;
}

double softmax_attention_predict(const Eigen::MatrixXd& embedding,
                                 const SoftmaxParameters& parameters) {
  Eigen::MatrixXd output;
  forward(embedding, parameters, output);
  return -output(embedding.rows() - 1, embedding.cols() - 1);
}

double softmax_attention_loss_gradient(const Eigen::MatrixXd& embedding, double query_label,
                                       const SoftmaxParameters& parameters,
                                       SoftmaxParameters& gradient) {
  Eigen::MatrixXd output;
  const auto caches = forward(embedding, parameters, output);
  const Eigen::Index rows = embedding.rows(), cols = embedding.cols(), n = cols - 1;
  const double residual = -output(rows - 1, cols - 1) - query_label;

  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(rows, cols);  // ∂ℓ/∂Z_{l+1}
  g(rows - 1, cols - 1) = -residual;
  for (int l = parameters.depth() - 1; l >= 0; --l) {
    const LayerCache& cache = caches[static_cast<std::size_t>(l)];
    const Eigen::MatrixXd& z = cache.input;
    const auto keys = z.leftCols(n);
    Eigen::MatrixXd previous = g;  // the residual path
    for (int h = 0; h < parameters.heads; ++h) {
      const std::size_t index = static_cast<std::size_t>(l * parameters.heads + h);
      const auto& head = parameters.weights[index];
      auto& head_gradient = gradient.weights[index];
      const Eigen::MatrixXd& a = cache.weights[static_cast<std::size_t>(h)];
      // out += P (K A): ∂ℓ/∂P = G (K A)ᵀ; ∂ℓ/∂(K A) = Pᵀ G.
      head_gradient.value_projection.noalias() += g * (keys * a).transpose();
      const Eigen::MatrixXd b = head.value_projection.transpose() * g;
      // Through the values: ∂ℓ/∂K += B Aᵀ; through the weights: ∂ℓ/∂A = Kᵀ B.
      previous.leftCols(n).noalias() += b * a.transpose();
      const Eigen::MatrixXd da = keys.transpose() * b;
      // Softmax per column j: ∂ℓ/∂S_j = A_j ⊙ (∂ℓ/∂A_j − A_j·∂ℓ/∂A_j).
      Eigen::MatrixXd ds(a.rows(), a.cols());
      for (Eigen::Index j = 0; j < a.cols(); ++j)
        ds.col(j) = a.col(j).cwiseProduct(
            da.col(j) - Eigen::VectorXd::Constant(a.rows(), a.col(j).dot(da.col(j))));
      // S = Kᵀ Q Z: ∂ℓ/∂Q = K dS Zᵀ; ∂ℓ/∂Z += Qᵀ K dS (queries); ∂ℓ/∂K += Q Z dSᵀ (keys).
      head_gradient.key_query.noalias() += keys * ds * z.transpose();
      previous.noalias() += head.key_query.transpose() * keys * ds;
      previous.leftCols(n).noalias() += head.key_query * z * ds.transpose();
    }
    g = std::move(previous);
  }
  return 0.5 * residual * residual;
}

}  // namespace icl
