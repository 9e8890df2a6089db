#include "core/deep_lsa.hpp"

#include "core/errors.hpp"

#include <string>

namespace icl {
namespace {

/// A_l = Z M Zᵀ / n: the attention's key-value moment over the n prompt columns (query masked).
Eigen::MatrixXd masked_moment(const Eigen::MatrixXd& z) {
  const Eigen::Index n = z.cols() - 1;
  const auto prompt_columns = z.leftCols(n);
  return prompt_columns * prompt_columns.transpose() / static_cast<double>(n);
}

}  // namespace

namespace {

/// A number 1 … 16 written with one or two digits, or -1.
int small_count(const std::string& text) {
  if (text.empty() || text.size() > 2 || text.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  const int value = std::stoi(text);
  return value >= 1 && value <= 16 ? value : -1;
}

}  // namespace

ModelSpec parse_model(std::string_view model) {
  const std::string text(model);
  if (text == "lsa") return {};
  if (text.rfind("lsa-", 0) == 0) {
    const bool from_gd = text.size() > 7 && text.compare(text.size() - 3, 3, "-gd") == 0;
    const std::string count = text.substr(4, text.size() - 4 - (from_gd ? 3 : 0));
    if (const int depth = small_count(count); depth > 0)
      return {ModelSpec::Kind::linear, depth, 1, from_gd};
  } else if (text.rfind("softmax-", 0) == 0) {
    const std::string rest = text.substr(8);
    const auto dash = rest.find('-');
    if (dash != std::string::npos) {
      const int depth = small_count(rest.substr(0, dash)),
                heads = small_count(rest.substr(dash + 1));
      if (depth > 0 && heads > 0) return {ModelSpec::Kind::softmax, depth, heads};
    }
  }
  throw ConfigError(
      "unknown model " + quote(text) +
      ", expected lsa (ZFB's one layer), lsa-L, lsa-L-gd or softmax-L-H (1 <= L, H <= 16)");
}

int model_depth(std::string_view model) {
  return parse_model(model).depth;
}

DeepLsaParameters DeepLsaParameters::zero(int dim, int depth) {
  DeepLsaParameters parameters;
  parameters.layers.assign(static_cast<std::size_t>(depth), LsaParameters::zero(dim));
  return parameters;
}

DeepLsaParameters DeepLsaParameters::preconditioned_gd(
    const std::vector<Eigen::MatrixXd>& preconditioners) {
  if (preconditioners.empty()) throw ConfigError("preconditioned_gd: no steps");
  const int dim = static_cast<int>(preconditioners.front().rows());
  DeepLsaParameters parameters = zero(dim, static_cast<int>(preconditioners.size()));
  for (std::size_t l = 0; l < preconditioners.size(); ++l) {
    parameters.layers[l].value_projection(dim, dim) = 1.0;
    parameters.layers[l].key_query.topLeftCorner(dim, dim) = -preconditioners[l].transpose();
  }
  return parameters;
}

std::vector<Eigen::MatrixXd> deep_lsa_forward(const Eigen::MatrixXd& embedding,
                                              const DeepLsaParameters& parameters) {
  std::vector<Eigen::MatrixXd> states;
  states.reserve(parameters.layers.size() + 1);
  states.push_back(embedding);
  for (const auto& layer : parameters.layers) {
    const Eigen::MatrixXd& z = states.back();
    const Eigen::MatrixXd moment = masked_moment(z);
    Eigen::MatrixXd next = z;
    next.noalias() += (layer.value_projection * moment * layer.key_query) * z;
    states.push_back(std::move(next));
  }
  return states;
}

double deep_lsa_predict(const Eigen::MatrixXd& embedding, const DeepLsaParameters& parameters) {
  const auto states = deep_lsa_forward(embedding, parameters);
  return -states.back()(embedding.rows() - 1, embedding.cols() - 1);
}

double deep_lsa_loss_gradient(const Eigen::MatrixXd& embedding, double query_label,
                              const DeepLsaParameters& parameters, DeepLsaParameters& gradient) {
  const auto states = deep_lsa_forward(embedding, parameters);
  const Eigen::Index rows = embedding.rows(), cols = embedding.cols();
  const double n = static_cast<double>(cols - 1);
  const double prediction = -states.back()(rows - 1, cols - 1);
  const double residual = prediction - query_label;

  // G = ∂ℓ/∂Z_L: only the query's label slot, with the sign of ŷ = −[Z_L].
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(rows, cols);
  g(rows - 1, cols - 1) = -residual;
  for (int l = parameters.depth() - 1; l >= 0; --l) {
    const auto& layer = parameters.layers[static_cast<std::size_t>(l)];
    auto& layer_gradient = gradient.layers[static_cast<std::size_t>(l)];
    const Eigen::MatrixXd& z = states[static_cast<std::size_t>(l)];
    const Eigen::MatrixXd moment = masked_moment(z);        // A, symmetric
    const Eigen::MatrixXd keyed = layer.key_query * z;      // Q Z
    const Eigen::MatrixXd g_keyed = g * keyed.transpose();  // G (QZ)ᵀ
    // Z_{l+1} = Z + P A Q Z:  ∂ℓ/∂P = G (A Q Z)ᵀ,  ∂ℓ/∂Q = (P A)ᵀ G Zᵀ.
    layer_gradient.value_projection.noalias() += g_keyed * moment;
    const Eigen::MatrixXd pa = layer.value_projection * moment;
    layer_gradient.key_query.noalias() += pa.transpose() * g * z.transpose();
    // ∂ℓ/∂Z = G + (P A Q)ᵀ G + (K + Kᵀ) Z M / n with K = ∂ℓ/∂A = Pᵀ G (Q Z)ᵀ.
    const Eigen::MatrixXd k = layer.value_projection.transpose() * g_keyed;
    Eigen::MatrixXd previous = g;
    previous.noalias() += (pa * layer.key_query).transpose() * g;
    previous.leftCols(cols - 1).noalias() += (k + k.transpose()) * z.leftCols(cols - 1) / n;
    g = std::move(previous);
  }
  return 0.5 * residual * residual;
}

}  // namespace icl
