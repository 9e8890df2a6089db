#pragma once
/// Counter-based random numbers. Every draw is a pure function of (master seed, stream address,
/// position): Philox4x32-10 keyed by the 64-bit master seed, countered by a 64-bit point
/// identifier, a 32-bit prompt index (or training sample index), an 8-bit stream and a 24-bit block
/// number. Nothing depends on the order in which ranks or threads ask, so results are the same for
/// any number of either.
#include <Random123/philox.h>
#include <Eigen/Core>

#include <array>
#include <cstdint>
#include <string_view>

namespace icl {

/// Independent uses of randomness within one prompt. Keeping them apart means, for example, that
/// the task w of prompt k is the same whatever the prompt length M.
enum class Stream : std::uint8_t {
  task = 0,        ///< w, the task vector
  inputs = 1,      ///< x_1 ... x_n
  query = 2,       ///< x_q
  noise = 3,       ///< label noise
  covariance = 4,  ///< per-prompt covariance draws (random-exp)
  shift = 5,       ///< randomness of test-time shifts
  predictor = 6,   ///< randomness inside a predictor (tie breaking)
  parameters = 7,  ///< initial parameters of a model
};

/// 64-bit FNV-1a of a string: turns the canonical text of a grid point or training setting into
/// the counter words that address its random numbers. The same text gives the same numbers in any
/// study, whatever else is in the grid.
std::uint64_t stable_hash(std::string_view text) noexcept;

/// Where a sequence of random numbers lives: (point, prompt, stream). Blocks within it are numbered
/// from 0 by the generator itself.
struct StreamAddress {
  std::uint64_t point = 0;   ///< stable_hash of the grid point or training setting
  std::uint32_t prompt = 0;  ///< prompt index (or training step)
  Stream stream = Stream::task;
};

/// Sequential draws from one stream address. Cheap to construct: make one per (prompt, stream).
class RandomStream {
 public:
  static constexpr std::uint32_t max_blocks = 1u << 24;  ///< 4 words each, so 2^25 normals

  RandomStream(std::uint64_t seed, const StreamAddress& address);

  /// 32 random bits.
  std::uint32_t bits();
  /// Uniform on the open interval (0, 1) with 53 random bits.
  double uniform();
  /// 64 random bits (two words of one Philox block).
  std::uint64_t bits64();
  /// Standard normal by the ziggurat method (Marsaglia & Tsang 2000, 256 layers), with the layer,
  /// the sign and a 53-bit uniform taken from disjoint bits of one 64-bit draw (Doornik 2005's fix
  /// of the original's correlated bits). Exact: the wedges and the tail are sampled by rejection.
  /// About 99% of draws take the fast path: one Philox half-block, a multiply and a compare.
  double normal();
  /// Exp(1) by inversion.
  double exponential();
  /// Uniform integer in [0, n), without modulo bias (Lemire's method on 64-bit products).
  std::uint32_t index(std::uint32_t n);

  /// Fill with independent standard normals, in storage order.
  template <typename Derived>
  void fill_normal(Eigen::DenseBase<Derived>& out) {
    for (Eigen::Index j = 0; j < out.cols(); ++j)
      for (Eigen::Index i = 0; i < out.rows(); ++i) out(i, j) = normal();
  }
  template <typename Derived>
  void fill_normal(Eigen::DenseBase<Derived>&& out) {
    fill_normal(out);
  }

 private:
  void refill();

  r123::Philox4x32::key_type key_;
  r123::Philox4x32::ctr_type counter_;
  r123::Philox4x32::ctr_type words_;
  std::uint32_t block_ = 0;
  int next_word_ = 4;
};

/// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 by Gamma(shape + 1)·U^{1/shape}.
double gamma_variate(double shape, RandomStream& random);

/// The ziggurat's layer table (exposed for its known-answer test): layer i in 1..255 is the
/// rectangle [0, x_i] x [f(x_i), f(x_{i+1})] with f(x) = exp(-x²/2); layer 0 is the base with the
/// tail beyond x_1 = r. `closure` is |f(x_255) + v/x_255 − 1|, how well the layers tile [0, 1].
struct ZigguratLayers {
  static constexpr int count = 256;
  double x[count + 1];
  double f[count + 1];
  double tail_start;  ///< r
  double layer_area;  ///< v
  double closure;
};
const ZigguratLayers& ziggurat_layers();

/// A Haar-distributed random orthogonal d x d matrix (QR of a Gaussian matrix with the signs of
/// R's diagonal folded into Q, Mezzadri 2007).
Eigen::MatrixXd haar_orthogonal(int dim, RandomStream& random);

}  // namespace icl
