#include "core/rng.hpp"

#include "core/errors.hpp"

#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace icl {

std::uint64_t stable_hash(std::string_view text) noexcept {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

RandomStream::RandomStream(std::uint64_t seed, const StreamAddress& address)
    : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
      counter_{static_cast<std::uint32_t>(address.point),
               static_cast<std::uint32_t>(address.point >> 32), address.prompt,
               static_cast<std::uint32_t>(address.stream) << 24} {}

void RandomStream::refill() {
  if (block_ >= max_blocks)
    throw NumericalError("random stream exhausted: more than " + std::to_string(max_blocks) +
                         " Philox blocks requested from one (point, prompt, stream)");
  const std::uint32_t count = std::min(ahead_, max_blocks - block_);
  philox_blocks(active_philox_path(), key_, counter_, block_, static_cast<int>(count), words_);
  block_ += count;
  ahead_ = std::min<std::uint32_t>(2 * ahead_, buffer_blocks);
  next_ = 0;
  end_ = 4 * count;
}

double RandomStream::uniform() {
  const std::uint64_t high = bits() >> 5;  // 27 bits
  const std::uint64_t low = bits() >> 6;   // 26 bits
  // (k + 0.5) / 2^53 for k in [0, 2^53): never 0 or 1, so log(u) is always finite.
  return (static_cast<double>((high << 26) | low) + 0.5) * 0x1.0p-53;
}

namespace {

double half_gaussian(double x) {
  return std::exp(-0.5 * x * x);
}

ZigguratLayers make_ziggurat_layers() {
  ZigguratLayers layers{};
  // r for 256 layers (Marsaglia & Tsang 2000); v, the area of every layer, follows from it:
  // the base layer is the rectangle [0, r] x [0, f(r)] plus the tail ∫_r^∞ f.
  const double r = 3.6541528853610088;
  const double v =
      r * half_gaussian(r) + std::sqrt(std::numbers::pi / 2.0) * std::erfc(r / std::numbers::sqrt2);
  layers.tail_start = r;
  layers.layer_area = v;
  layers.x[0] = v / half_gaussian(r);
  layers.x[1] = r;
  for (int i = 1; i < ZigguratLayers::count - 1; ++i)
    layers.x[i + 1] = std::sqrt(-2.0 * std::log(half_gaussian(layers.x[i]) + v / layers.x[i]));
  layers.x[ZigguratLayers::count] = 0.0;
  const double last = layers.x[ZigguratLayers::count - 1];
  layers.closure = std::abs(half_gaussian(last) + v / last - 1.0);
  for (int i = 0; i <= ZigguratLayers::count; ++i) layers.f[i] = half_gaussian(layers.x[i]);
  layers.f[0] = 0.0;  // the base layer starts at height 0
  return layers;
}

const ZigguratLayers zigg = make_ziggurat_layers();

}  // namespace

const ZigguratLayers& ziggurat_layers() {
  return zigg;
}

namespace detail {
const ZigguratFastPath ziggurat_fast_path = [] {
  ZigguratFastPath fast{};
  for (int i = 0; i < ZigguratLayers::count; ++i) fast.scaled_width[i] = zigg.x[i] * 0x1.0p-53;
  for (int i = 0; i <= ZigguratLayers::count; ++i) fast.width[i] = zigg.x[i];
  return fast;
}();
}  // namespace detail

double RandomStream::normal_beyond_fast_path(std::uint64_t draw) {
  while (true) {
    const unsigned layer = static_cast<unsigned>(draw & 0xffu);
    const double sign = (draw & 0x100u) ? -1.0 : 1.0;
    const double x = static_cast<double>(draw >> 11) * 0x1.0p-53 * zigg.x[layer];
    if (x < zigg.x[layer + 1]) return sign * x;  // inside the next layer's width: under the curve
    if (layer == 0) {
      // The tail beyond r (Marsaglia 1964): r + E1/r, accepted with probability exp(-(E1/r)²/2).
      double excess, exponential_draw;
      do {
        excess = -std::log(uniform()) / zigg.tail_start;
        exponential_draw = -std::log(uniform());
      } while (exponential_draw + exponential_draw < excess * excess);
      return sign * (zigg.tail_start + excess);
    }
    // The wedge: a uniform height in the layer, accepted under the curve.
    const double height = zigg.f[layer] + uniform() * (zigg.f[layer + 1] - zigg.f[layer]);
    if (height < half_gaussian(x)) return sign * x;
    draw = bits64();
  }
}

double gamma_variate(double shape, RandomStream& random) {
  if (!(shape > 0.0)) throw ConfigError("gamma_variate: shape must be positive");
  if (shape < 1.0) {
    const double boosted = gamma_variate(shape + 1.0, random);
    return boosted * std::pow(random.uniform(), 1.0 / shape);
  }
  const double offset = shape - 1.0 / 3.0;
  const double scale = 1.0 / std::sqrt(9.0 * offset);
  while (true) {
    double z, v;
    do {
      z = random.normal();
      v = 1.0 + scale * z;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = random.uniform();
    if (u < 1.0 - 0.0331 * (z * z) * (z * z)) return offset * v;
    if (std::log(u) < 0.5 * z * z + offset * (1.0 - v + std::log(v))) return offset * v;
  }
}

double RandomStream::exponential() {
  return -std::log(uniform());
}

std::uint32_t RandomStream::index(std::uint32_t n) {
  if (n == 0) throw ConfigError("RandomStream::index: empty range");
  // Lemire (2019): multiply-shift with rejection of the short interval.
  std::uint64_t product = static_cast<std::uint64_t>(bits()) * n;
  auto low = static_cast<std::uint32_t>(product);
  if (low < n) {
    const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
    while (low < threshold) {
      product = static_cast<std::uint64_t>(bits()) * n;
      low = static_cast<std::uint32_t>(product);
    }
  }
  return static_cast<std::uint32_t>(product >> 32);
}

Eigen::MatrixXd haar_orthogonal(int dim, RandomStream& random) {
  Eigen::MatrixXd gaussian(dim, dim);
  random.fill_normal(gaussian);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Eigen::MatrixXd q = qr.householderQ();
  const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
  for (int j = 0; j < dim; ++j)
    if (r(j, j) < 0) q.col(j) = -q.col(j);
  return q;
}

}  // namespace icl
