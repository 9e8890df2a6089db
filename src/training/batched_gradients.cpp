#include "training/batched_gradients.hpp"

#include "core/vector_tier.hpp"
#include "training/lanes.hpp"

#include <algorithm>
#include <utility>

namespace icl {
namespace {

using lanes::broadcast;
using lanes::LaneOperand;
using lanes::Lanes;
using lanes::Matrix;
using lanes::product;
using lanes::SharedOperand;
using lanes::Store;

/// Lane b of a pack is prompts[b]; lanes past the pack's size hold zeros and are never read back.
ICL_LANE_INLINE Lanes embed_pack(std::span<const Prompt> pack, Matrix& z) {
  const int dim = pack.front().dim(), n = pack.front().length();
  z.resize(dim + 1, n + 1);
  z.set_zero();
  Lanes labels{};
  for (std::size_t b = 0; b < pack.size(); ++b) {
    const Prompt& prompt = pack[b];
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < dim; ++i) z(i, j)[b] = prompt.inputs(i, j);
      z(dim, j)[b] = prompt.labels(j);
    }
    for (int i = 0; i < dim; ++i) z(i, n)[b] = prompt.query(i);
    labels[b] = prompt.query_label;
  }
  return labels;
}

/// gradient += lane b of `per_prompt`, for b = 0, 1, … in the prompts' order.
ICL_LANE_INLINE void add_lanes(const Matrix& per_prompt, std::size_t count,
                               Eigen::MatrixXd& gradient) {
  for (std::size_t b = 0; b < count; ++b)
    for (int j = 0; j < per_prompt.cols; ++j)
      for (int i = 0; i < per_prompt.rows; ++i) gradient(i, j) += per_prompt(i, j)[b];
}

/// A = Zn Znᵀ / n over the first n columns (the query's is masked), formed on one triangle.
ICL_LANE_INLINE void masked_moment(const Matrix& z, Matrix& moment) {
  const int p = z.rows, n = z.cols - 1;
  moment.resize(p, p);
  const Lanes count = broadcast(n);
  for (int j = 0; j < p; ++j)
    for (int i = j; i < p; ++i) {
      Lanes sum = z(i, 0) * z(j, 0);
      for (int k = 1; k < n; ++k) sum += z(i, k) * z(j, k);
      moment(i, j) = moment(j, i) = sum / count;
    }
}

/// Σ_k a(k) b(k) in ascending k.
template <typename A, typename B>
ICL_LANE_INLINE Lanes dot(int size, const A& a, const B& b) {
  Lanes sum = a(0) * b(0);
  for (int k = 1; k < size; ++k) sum += a(k) * b(k);
  return sum;
}

struct LinearWorkspace {
  std::vector<Matrix> states, moments, pa, c;  ///< Z_l, A_l, P_l A_l, P_l A_l Q_l
  Matrix g, g_next, h, hqt, k, ksym, t, dp, dq, v, av, au, qtau;
};

/// One pack of lsa-L: the loss of each lane, the gradient added to `gradient`.
ICL_LANE_INLINE Lanes pack_loss_gradient(std::span<const Prompt> pack,
                                         const DeepLsaParameters& parameters,
                                         DeepLsaParameters& gradient, LinearWorkspace& w) {
  const int depth = parameters.depth(), last = depth - 1;
  w.states.resize(static_cast<std::size_t>(depth));
  w.moments.resize(static_cast<std::size_t>(depth));
  w.pa.resize(static_cast<std::size_t>(depth));
  w.c.resize(static_cast<std::size_t>(depth));
  const Lanes labels = embed_pack(pack, w.states[0]);
  const int p = w.states[0].rows, n = w.states[0].cols - 1, m = n + 1, d = p - 1;
  const Lanes count = broadcast(n);

  for (int l = 0; l < depth; ++l) {
    const auto& layer = parameters.layers[static_cast<std::size_t>(l)];
    const Matrix& z = w.states[static_cast<std::size_t>(l)];
    Matrix& moment = w.moments[static_cast<std::size_t>(l)];
    masked_moment(z, moment);
    if (l == last) break;
    Matrix& pa = w.pa[static_cast<std::size_t>(l)];
    Matrix& c = w.c[static_cast<std::size_t>(l)];
    pa.resize(p, p);
    c.resize(p, p);
    product(pa, p, p, p, SharedOperand{layer.value_projection, false}, LaneOperand{moment, false},
            Store::assign);
    product(c, p, p, p, LaneOperand{pa, false}, SharedOperand{layer.key_query, false},
            Store::assign);
    Matrix& next = w.states[static_cast<std::size_t>(l) + 1];
    next = z;
    product(next, p, m, p, LaneOperand{c, false}, LaneOperand{z, false}, Store::add);
  }

  // The last layer, on the query's label slot only: o = Z(d, n) + uᵀ A Q z_n with u = P(d, :)ᵀ.
  const auto& top = parameters.layers[static_cast<std::size_t>(last)];
  const Matrix& z = w.states[static_cast<std::size_t>(last)];
  const Matrix& moment = w.moments[static_cast<std::size_t>(last)];
  const auto query_column = [&](int k, int) { return z(k, n); };
  const auto u = [&](int k, int) { return broadcast(top.value_projection(d, k)); };
  w.v.resize(p, 1);
  w.av.resize(p, 1);
  w.au.resize(p, 1);
  product(w.v, p, 1, p, SharedOperand{top.key_query, false}, query_column, Store::assign);
  product(w.av, p, 1, p, LaneOperand{moment, false}, LaneOperand{w.v, false}, Store::assign);
  product(w.au, p, 1, p, LaneOperand{moment, false}, u, Store::assign);
  const Lanes output =
      z(d, n) + dot(
                    p, [&](int k) { return u(k, 0); }, [&](int k) { return w.av(k, 0); });
  const Lanes residual = -output - labels;
  const Lanes go = -residual;  // ∂ℓ/∂o, since ŷ = −o

  auto& top_gradient = gradient.layers[static_cast<std::size_t>(last)];
  w.dp.resize(p, p);
  w.dq.resize(p, p);
  w.dp.set_zero();
  for (int j = 0; j < p; ++j) w.dp(d, j) = go * w.av(j, 0);
  for (int j = 0; j < p; ++j)
    for (int i = 0; i < p; ++i) w.dq(i, j) = (go * w.au(i, 0)) * z(j, n);
  add_lanes(w.dp, pack.size(), top_gradient.value_projection);
  add_lanes(w.dq, pack.size(), top_gradient.key_query);

  if (last > 0) {
    // ∂ℓ/∂Z_last: the direct term at (d, n), Qᵀ A u in the query's column (through v = Q z_n),
    // and (u vᵀ + v uᵀ) Zn / n in the others (through A).
    w.g.resize(p, m);
    w.qtau.resize(p, 1);
    product(w.qtau, p, 1, p, SharedOperand{top.key_query, true}, LaneOperand{w.au, false},
            Store::assign);
    for (int j = 0; j < n; ++j) {
      const Lanes vz = dot(
          p, [&](int k) { return w.v(k, 0); }, [&](int k) { return z(k, j); });
      const Lanes uz = dot(
          p, [&](int k) { return u(k, 0); }, [&](int k) { return z(k, j); });
      for (int i = 0; i < p; ++i) w.g(i, j) = go * ((u(i, 0) * vz + w.v(i, 0) * uz) / count);
    }
    for (int i = 0; i < p; ++i) w.g(i, n) = go * (i == d ? w.qtau(i, 0) + 1.0 : w.qtau(i, 0));
  }

  for (int l = last - 1; l >= 0; --l) {
    const auto& layer = parameters.layers[static_cast<std::size_t>(l)];
    auto& layer_gradient = gradient.layers[static_cast<std::size_t>(l)];
    const Matrix& zl = w.states[static_cast<std::size_t>(l)];
    const Matrix& a = w.moments[static_cast<std::size_t>(l)];
    // Z_{l+1} = Z + P A Q Z with H = G Zᵀ: ∂P = H Qᵀ A, ∂Q = (P A)ᵀ H.
    w.h.resize(p, p);
    w.hqt.resize(p, p);
    product(w.h, p, p, m, LaneOperand{w.g, false}, LaneOperand{zl, true}, Store::assign);
    product(w.hqt, p, p, p, LaneOperand{w.h, false}, SharedOperand{layer.key_query, true},
            Store::assign);
    product(w.dp, p, p, p, LaneOperand{w.hqt, false}, LaneOperand{a, false}, Store::assign);
    product(w.dq, p, p, p, LaneOperand{w.pa[static_cast<std::size_t>(l)], true},
            LaneOperand{w.h, false}, Store::assign);
    add_lanes(w.dp, pack.size(), layer_gradient.value_projection);
    add_lanes(w.dq, pack.size(), layer_gradient.key_query);
    if (l == 0) break;  // the embedding needs no gradient
    // ∂ℓ/∂Z = G + Cᵀ G + (K + Kᵀ) Zn / n with K = ∂ℓ/∂A = Pᵀ H Qᵀ.
    w.k.resize(p, p);
    w.ksym.resize(p, p);
    w.t.resize(p, n);
    product(w.k, p, p, p, SharedOperand{layer.value_projection, true}, LaneOperand{w.hqt, false},
            Store::assign);
    for (int j = 0; j < p; ++j)
      for (int i = 0; i < p; ++i) w.ksym(i, j) = w.k(i, j) + w.k(j, i);
    w.g_next = w.g;
    product(w.g_next, p, m, p, LaneOperand{w.c[static_cast<std::size_t>(l)], true},
            LaneOperand{w.g, false}, Store::add);
    product(w.t, p, n, p, LaneOperand{w.ksym, false}, LaneOperand{zl, false}, Store::assign);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < p; ++i) w.g_next(i, j) += w.t(i, j) / count;
    std::swap(w.g, w.g_next);
  }
  return broadcast(0.5) * residual * residual;
}

/// Column-wise softmax of `scores` over its first `keys` rows, in place: each column shifted by
/// its maximum, exponentiated, and divided by its sum (taken in ascending row).
ICL_LANE_INLINE void softmax_columns(Matrix& scores, int keys, int columns) {
  for (int j = 0; j < columns; ++j) {
    Lanes top = scores(0, j);
    for (int i = 1; i < keys; ++i) top = lanes::max(top, scores(i, j));
    Lanes sum{};
    for (int i = 0; i < keys; ++i) {
      scores(i, j) = lanes::exp_nonpositive(scores(i, j) - top);
      sum += scores(i, j);
    }
    for (int i = 0; i < keys; ++i) scores(i, j) /= sum;
  }
}

struct SoftmaxWorkspace {
  std::vector<Matrix> states;                  ///< Z_l
  std::vector<Matrix> keyed, weights, values;  ///< Q Z, A = softmax(Znᵀ Q Z), Zn A per (l, h)
  Matrix g, g_next, b, da, wm, dp, dq, qz, s, vv, bv, dsv, wv;
};

/// One pack of softmax-L-H.
ICL_LANE_INLINE Lanes pack_loss_gradient(std::span<const Prompt> pack,
                                         const SoftmaxParameters& parameters,
                                         SoftmaxParameters& gradient, SoftmaxWorkspace& w) {
  const int depth = parameters.depth(), heads = parameters.heads, last = depth - 1;
  w.states.resize(static_cast<std::size_t>(depth));
  const std::size_t blocks = static_cast<std::size_t>(depth * heads);
  w.keyed.resize(blocks);
  w.weights.resize(blocks);
  w.values.resize(blocks);
  const Lanes labels = embed_pack(pack, w.states[0]);
  const int p = w.states[0].rows, n = w.states[0].cols - 1, m = n + 1, d = p - 1;
  const auto head = [&](int l, int h) { return static_cast<std::size_t>(l * heads + h); };

  for (int l = 0; l < last; ++l) {
    const Matrix& z = w.states[static_cast<std::size_t>(l)];
    Matrix& next = w.states[static_cast<std::size_t>(l) + 1];
    next = z;
    for (int h = 0; h < heads; ++h) {
      const auto& weights = parameters.weights[head(l, h)];
      Matrix &qz = w.keyed[head(l, h)], &a = w.weights[head(l, h)], &v = w.values[head(l, h)];
      qz.resize(p, m);
      a.resize(n, m);
      v.resize(p, m);
      product(qz, p, m, p, SharedOperand{weights.key_query, false}, LaneOperand{z, false},
              Store::assign);
      product(a, n, m, p, LaneOperand{z, true}, LaneOperand{qz, false}, Store::assign);
      softmax_columns(a, n, m);
      product(v, p, m, n, LaneOperand{z, false}, LaneOperand{a, false}, Store::assign);
      product(next, p, m, p, SharedOperand{weights.value_projection, false}, LaneOperand{v, false},
              Store::add);
    }
  }

  // The last layer on the query's column: o = Z(d, n) + Σ_h P_h(d, :) Zn softmax(Znᵀ Q_h z_n).
  const Matrix& z = w.states[static_cast<std::size_t>(last)];
  const auto query_column = [&](int k, int) { return z(k, n); };
  w.qz.resize(p, heads);
  w.s.resize(n, heads);
  w.vv.resize(p, heads);
  Lanes output = z(d, n);
  for (int h = 0; h < heads; ++h) {
    const auto& weights = parameters.weights[head(last, h)];
    for (int i = 0; i < p; ++i)
      w.qz(i, h) = dot(
          p, [&](int k) { return broadcast(weights.key_query(i, k)); },
          [&](int k) { return query_column(k, 0); });
    for (int j = 0; j < n; ++j)
      w.s(j, h) = dot(
          p, [&](int k) { return z(k, j); }, [&](int k) { return w.qz(k, h); });
    Lanes top = w.s(0, h);
    for (int j = 1; j < n; ++j) top = lanes::max(top, w.s(j, h));
    Lanes sum{};
    for (int j = 0; j < n; ++j) {
      w.s(j, h) = lanes::exp_nonpositive(w.s(j, h) - top);
      sum += w.s(j, h);
    }
    for (int j = 0; j < n; ++j) w.s(j, h) /= sum;
    for (int i = 0; i < p; ++i)
      w.vv(i, h) = dot(
          n, [&](int k) { return z(i, k); }, [&](int k) { return w.s(k, h); });
    output += dot(
        p, [&](int k) { return broadcast(weights.value_projection(d, k)); },
        [&](int k) { return w.vv(k, h); });
  }
  const Lanes residual = -output - labels;
  const Lanes go = -residual;

  if (last > 0) {
    w.g.resize(p, m);
    w.g.set_zero();
    w.g(d, n) = go;
  }
  w.dp.resize(p, p);
  w.dq.resize(p, p);
  w.bv.resize(p, 1);
  w.dsv.resize(n, 1);
  w.wv.resize(p, 1);
  for (int h = 0; h < heads; ++h) {
    const auto& weights = parameters.weights[head(last, h)];
    auto& head_gradient = gradient.weights[head(last, h)];
    // ∂P(d, :) = go (Zn a)ᵀ; b = Pᵀ G = go P(d, :)ᵀ; ∂a = Znᵀ b; softmax; ∂Q = (Zn ds) z_nᵀ.
    w.dp.set_zero();
    for (int j = 0; j < p; ++j) w.dp(d, j) = go * w.vv(j, h);
    for (int i = 0; i < p; ++i) w.bv(i, 0) = go * weights.value_projection(d, i);
    for (int j = 0; j < n; ++j)
      w.dsv(j, 0) = dot(
          p, [&](int k) { return z(k, j); }, [&](int k) { return w.bv(k, 0); });
    const Lanes weighted = dot(
        n, [&](int k) { return w.s(k, h); }, [&](int k) { return w.dsv(k, 0); });
    for (int j = 0; j < n; ++j) w.dsv(j, 0) = w.s(j, h) * (w.dsv(j, 0) - weighted);
    for (int i = 0; i < p; ++i)
      w.wv(i, 0) = dot(
          n, [&](int k) { return z(i, k); }, [&](int k) { return w.dsv(k, 0); });
    for (int j = 0; j < p; ++j)
      for (int i = 0; i < p; ++i) w.dq(i, j) = w.wv(i, 0) * z(j, n);
    add_lanes(w.dp, pack.size(), head_gradient.value_projection);
    add_lanes(w.dq, pack.size(), head_gradient.key_query);
    if (last == 0) continue;
    // Values: b aᵀ; queries: Qᵀ w in column n; keys: (Q z_n) dsᵀ.
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < p; ++i) w.g(i, j) += w.bv(i, 0) * w.s(j, h) + w.qz(i, h) * w.dsv(j, 0);
    for (int i = 0; i < p; ++i)
      w.g(i, n) += dot(
          p, [&](int k) { return broadcast(weights.key_query(k, i)); },
          [&](int k) { return w.wv(k, 0); });
  }

  for (int l = last - 1; l >= 0; --l) {
    const Matrix& zl = w.states[static_cast<std::size_t>(l)];
    if (l > 0) w.g_next = w.g;  // the residual path
    for (int h = 0; h < heads; ++h) {
      const auto& weights = parameters.weights[head(l, h)];
      auto& head_gradient = gradient.weights[head(l, h)];
      const Matrix &qz = w.keyed[head(l, h)], &a = w.weights[head(l, h)], &v = w.values[head(l, h)];
      w.b.resize(p, m);
      w.da.resize(n, m);
      w.wm.resize(p, m);
      // out += P (Zn A): ∂P = G (Zn A)ᵀ, B = Pᵀ G.
      product(w.dp, p, p, m, LaneOperand{w.g, false}, LaneOperand{v, true}, Store::assign);
      product(w.b, p, m, p, SharedOperand{weights.value_projection, true}, LaneOperand{w.g, false},
              Store::assign);
      if (l > 0)
        product(w.g_next, p, n, m, LaneOperand{w.b, false}, LaneOperand{a, true}, Store::add);
      // ∂A = Znᵀ B, then through each column's softmax: dS_j = A_j ⊙ (∂A_j − A_j·∂A_j).
      product(w.da, n, m, p, LaneOperand{zl, true}, LaneOperand{w.b, false}, Store::assign);
      for (int j = 0; j < m; ++j) {
        const Lanes weighted = dot(
            n, [&](int k) { return a(k, j); }, [&](int k) { return w.da(k, j); });
        for (int i = 0; i < n; ++i) w.da(i, j) = a(i, j) * (w.da(i, j) - weighted);
      }
      // S = Znᵀ Q Z: ∂Q = (Zn dS) Zᵀ; ∂Z += Qᵀ (Zn dS); ∂Zn += (Q Z) dSᵀ.
      product(w.wm, p, m, n, LaneOperand{zl, false}, LaneOperand{w.da, false}, Store::assign);
      product(w.dq, p, p, m, LaneOperand{w.wm, false}, LaneOperand{zl, true}, Store::assign);
      add_lanes(w.dp, pack.size(), head_gradient.value_projection);
      add_lanes(w.dq, pack.size(), head_gradient.key_query);
      if (l == 0) continue;
      product(w.g_next, p, m, p, SharedOperand{weights.key_query, true}, LaneOperand{w.wm, false},
              Store::add);
      product(w.g_next, p, n, m, LaneOperand{qz, false}, LaneOperand{w.da, true}, Store::add);
    }
    if (l > 0) std::swap(w.g, w.g_next);
  }
  return broadcast(0.5) * residual * residual;
}

/// The chunk, pack by pack, losses added in the prompts' order.
template <typename Parameters, typename Workspace>
ICL_LANE_INLINE double chunk_loss_gradient(std::span<const Prompt> prompts,
                                           const Parameters& parameters, Parameters& gradient) {
  thread_local Workspace workspace;
  double loss = 0.0;
  for (std::size_t start = 0; start < prompts.size(); start += lanes::width) {
    const auto pack =
        prompts.subspan(start, std::min<std::size_t>(lanes::width, prompts.size() - start));
    const Lanes losses = pack_loss_gradient(pack, parameters, gradient, workspace);
    for (std::size_t b = 0; b < pack.size(); ++b) loss += losses[b];
  }
  return loss;
}

#define ICL_KERNEL_ENTRIES(NAME, PARAMETERS, WORKSPACE)                                      \
  __attribute__((flatten)) double NAME##_baseline(                                           \
      std::span<const Prompt> prompts, const PARAMETERS& parameters, PARAMETERS& gradient) { \
    return chunk_loss_gradient<PARAMETERS, WORKSPACE>(prompts, parameters, gradient);        \
  }                                                                                          \
  __attribute__((target("avx2"), flatten)) double NAME##_avx2(                               \
      std::span<const Prompt> prompts, const PARAMETERS& parameters, PARAMETERS& gradient) { \
    return chunk_loss_gradient<PARAMETERS, WORKSPACE>(prompts, parameters, gradient);        \
  }                                                                                          \
  __attribute__((target("avx512f"), flatten)) double NAME##_avx512(                          \
      std::span<const Prompt> prompts, const PARAMETERS& parameters, PARAMETERS& gradient) { \
    return chunk_loss_gradient<PARAMETERS, WORKSPACE>(prompts, parameters, gradient);        \
  }

// The same source compiled three times, once per instruction set (the lanes are the same).
ICL_KERNEL_ENTRIES(linear, DeepLsaParameters, LinearWorkspace)
ICL_KERNEL_ENTRIES(softmax, SoftmaxParameters, SoftmaxWorkspace)

constexpr VectorTierNames kernel_path_names{"baseline", "avx2", "avx512"};
static_assert(static_cast<int>(KernelPath::avx2) == static_cast<int>(VectorTier::avx2) &&
              static_cast<int>(KernelPath::avx512) == static_cast<int>(VectorTier::avx512));

}  // namespace

std::string kernel_path_name(KernelPath path) {
  return kernel_path_names[static_cast<int>(path)];
}

std::vector<KernelPath> available_kernel_paths() {
  std::vector<KernelPath> paths;
  for (VectorTier tier : available_vector_tiers()) paths.push_back(static_cast<KernelPath>(tier));
  return paths;
}

KernelPath active_kernel_path() {
  static const KernelPath path =
      static_cast<KernelPath>(chosen_vector_tier("ICL_KERNEL_PATH", kernel_path_names));
  return path;
}

double batched_multiply_adds(bool softmax, int depth, int heads, int dim, int length) {
  const double p = dim + 1.0, n = length, m = n + 1, middle = depth - 1.0,
               inner = depth > 2 ? depth - 2.0 : 0.0, h = heads;
  if (!softmax) {
    return depth * p * (p + 1) / 2 * n             // A_l on one triangle
           + middle * (2 * p * p * p + p * p * m)  // P A, (P A) Q, C Z
           + 4 * p * p                             // v, A v, A u; ∂Q of the last layer
           + (depth > 1 ? p * p + 4 * p * n : 0)   // Qᵀ A u; vᵀ z_j, uᵀ z_j, ∂Z of the last
           + middle * (p * p * m + 3 * p * p * p)  // H, H Qᵀ, ∂P, ∂Q
           + inner * (p * p * p + p * p * m + p * p * n);  // ∂Z of the middle layers
  }
  const double exponential = 7;  // the lanes' e^x, in multiply-add pairs
  return middle * h * (2 * p * p * m + 2 * n * p * m + n * m * exponential)  // forward
         + h * (p * p + 2 * n * p + n * exponential + p)                     // last, forward
         + h * (2 * n * p + p * p) + (depth > 1 ? h * (2 * p * n + p * p) : 0)  // last, backward
         + middle * h * (3 * p * p * m + 2 * n * p * m)  // ∂P, B, ∂A, W, ∂Q
         + inner * h * (2 * p * n * m + p * p * m);      // ∂Z of the middle layers
}

double batched_loss_gradient(std::span<const Prompt> prompts, const DeepLsaParameters& parameters,
                             DeepLsaParameters& gradient, KernelPath path) {
  if (prompts.empty()) return 0.0;
  switch (path) {
    case KernelPath::avx512:
      return linear_avx512(prompts, parameters, gradient);
    case KernelPath::avx2:
      return linear_avx2(prompts, parameters, gradient);
    case KernelPath::baseline:
      break;
  }
  return linear_baseline(prompts, parameters, gradient);
}

double batched_loss_gradient(std::span<const Prompt> prompts, const SoftmaxParameters& parameters,
                             SoftmaxParameters& gradient, KernelPath path) {
  if (prompts.empty()) return 0.0;
  switch (path) {
    case KernelPath::avx512:
      return softmax_avx512(prompts, parameters, gradient);
    case KernelPath::avx2:
      return softmax_avx2(prompts, parameters, gradient);
    case KernelPath::baseline:
      break;
  }
  return softmax_baseline(prompts, parameters, gradient);
}

}  // namespace icl
