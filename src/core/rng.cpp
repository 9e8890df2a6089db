#include "core/rng.hpp"

#include "core/errors.hpp"

#include <Eigen/QR>

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

RandomStream::RandomStream(std::uint64_t seed, const StreamAddress& address) {
  key_ = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  counter_ = {{static_cast<std::uint32_t>(address.point),
               static_cast<std::uint32_t>(address.point >> 32), address.prompt,
               static_cast<std::uint32_t>(address.stream) << 24}};
}

void RandomStream::refill() {
  if (block_ >= max_blocks)
    throw NumericalError("random stream exhausted: more than " + std::to_string(max_blocks) +
                         " Philox blocks requested from one (point, prompt, stream)");
  r123::Philox4x32::ctr_type counter = counter_;
  counter[3] |= block_++;
  words_ = r123::Philox4x32()(counter, key_);
  next_word_ = 0;
}

std::uint32_t RandomStream::bits() {
  if (next_word_ >= 4) refill();
  return words_[next_word_++];
}

double RandomStream::uniform() {
  const std::uint64_t high = bits() >> 5;  // 27 bits
  const std::uint64_t low = bits() >> 6;   // 26 bits
  // (k + 0.5) / 2^53 for k in [0, 2^53): never 0 or 1, so log(u) is always finite.
  return (static_cast<double>((high << 26) | low) + 0.5) * 0x1.0p-53;
}

double RandomStream::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  const double radius = std::sqrt(-2.0 * std::log(uniform()));
  const double angle = 2.0 * std::numbers::pi * uniform();
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
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
