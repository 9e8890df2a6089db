#pragma once
/// Counter-based random numbers. Every draw is a pure function of (master seed, stream address,
/// position): Philox4x32-10 keyed by the 64-bit master seed, countered by a 64-bit point
/// identifier, a 32-bit prompt index (or training sample index), an 8-bit stream and a 24-bit block
/// number. Nothing depends on the order in which ranks or threads ask, so results are the same for
/// any number of either.
#include "core/philox_blocks.hpp"

#include <Random123/philox.h>
#include <Eigen/Core>

#include <array>
#include <cstdint>
#include <cstring>
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

namespace detail {
/// The ziggurat's fast path: the layer widths x_i, and x_i · 2^-53 (an exact rescaling, so that
/// k · (x_i 2^-53) for a 53-bit integer k is rounded once, to the same double as (k 2^-53) · x_i).
struct ZigguratFastPath {
  double scaled_width[ZigguratLayers::count];
  double width[ZigguratLayers::count + 1];
};
extern const ZigguratFastPath ziggurat_fast_path;
}  // namespace detail

/// Sequential draws from one stream address. Cheap to construct: make one per (prompt, stream).
/// Philox blocks are computed ahead into a small buffer, several at a time by the vector paths of
/// philox_blocks; how far ahead doubles from 1 to 16 blocks as a stream is used, so that a stream
/// asked for one number computes one block. The words drawn are the same on every path.
class RandomStream {
 public:
  static constexpr std::uint32_t max_blocks = 1u << 24;  ///< 4 words each, so 2^25 normals
  static constexpr int buffer_blocks = 16;

  RandomStream(std::uint64_t seed, const StreamAddress& address);

  /// 32 random bits.
  std::uint32_t bits() {
    if (next_ >= end_) refill();
    return words_[next_++];
  }
  /// Uniform on the open interval (0, 1) with 53 random bits.
  double uniform();
  /// 64 random bits: two consecutive words of one Philox block (a draw never straddles two blocks:
  /// after an odd number of 32-bit draws, the last word of a block is skipped).
  std::uint64_t bits64() {
    if ((next_ & 3u) == 3u) ++next_;
    if (next_ >= end_) refill();
    const std::uint64_t value = static_cast<std::uint64_t>(words_[next_]) |
                                static_cast<std::uint64_t>(words_[next_ + 1]) << 32;
    next_ += 2;
    return value;
  }
  /// Standard normal by the ziggurat method (Marsaglia & Tsang 2000, 256 layers), with the layer,
  /// the sign and a 53-bit uniform taken from disjoint bits of one 64-bit draw (Doornik 2005's fix
  /// of the original's correlated bits). Exact: the wedges and the tail are sampled by rejection.
  /// About 99% of draws take the fast path, inlined here: one 64-bit draw, a multiply and a
  /// compare.
  double normal() {
    const std::uint64_t draw = bits64();
    const unsigned layer = static_cast<unsigned>(draw & 0xffu);
    const double x =
        static_cast<double>(draw >> 11) * detail::ziggurat_fast_path.scaled_width[layer];
    // The sign is bit 8 of the draw, moved onto the sign bit without a branch (a branch on a
    // random bit is mispredicted half the time); flipping the sign bit is exactly negation.
    if (x < detail::ziggurat_fast_path.width[layer + 1]) {
      std::uint64_t representation;
      std::memcpy(&representation, &x, sizeof x);
      representation ^= (draw & 0x100u) << 55;
      double signed_x;
      std::memcpy(&signed_x, &representation, sizeof x);
      return signed_x;
    }
    return normal_beyond_fast_path(draw);
  }
  /// Exp(1) by inversion.
  double exponential();
  /// Uniform integer in [0, n), without modulo bias (Lemire's method on 64-bit products).
  std::uint32_t index(std::uint32_t n);

  /// Fill with independent standard normals, in column-major order: element (i, j) gets the
  /// (i + rows·j)-th normal of the stream, whatever the storage.
  template <typename Derived>
  void fill_normal(Eigen::DenseBase<Derived>& out) {
    for (Eigen::Index j = 0; j < out.cols(); ++j)
      for (Eigen::Index i = 0; i < out.rows(); ++i) out(i, j) = normal();
  }
  template <typename Derived>
  void fill_normal(Eigen::DenseBase<Derived>&& out) {
    fill_normal(out);
  }
  /// out[0 … count) = the next `count` normals of the stream.
  void fill_normals(double* out, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) out[i] = normal();
  }

 private:
  void refill();
  /// The rest of the ziggurat for a draw that missed the fast path: the tail, the wedge, and, if
  /// rejected there, fresh draws until one is accepted.
  double normal_beyond_fast_path(std::uint64_t draw);

  PhiloxKey key_;
  PhiloxCounter counter_;
  std::uint32_t block_ = 0;           ///< the next block to compute
  std::uint32_t ahead_ = 1;           ///< how many blocks the next refill computes
  std::uint32_t next_ = 0, end_ = 0;  ///< the next word to hand out; the buffer's end
  std::uint32_t words_[4 * buffer_blocks];
};

/// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 by Gamma(shape + 1)·U^{1/shape}.
double gamma_variate(double shape, RandomStream& random);

/// A Haar-distributed random orthogonal d x d matrix (QR of a Gaussian matrix with the signs of
/// R's diagonal folded into Q, Mezzadri 2007).
Eigen::MatrixXd haar_orthogonal(int dim, RandomStream& random);

}  // namespace icl
