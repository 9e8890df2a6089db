#define BOOST_TEST_MODULE core_rng
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace icl;

namespace {
std::vector<double> normals(std::uint64_t seed, StreamAddress address, int count) {
  RandomStream random(seed, address);
  std::vector<double> values(count);
  for (auto& v : values) v = random.normal();
  return values;
}
}  // namespace

BOOST_AUTO_TEST_CASE(same_key_same_numbers) {
  const StreamAddress address{stable_hash("point"), 17, Stream::inputs};
  BOOST_TEST(normals(42, address, 1000) == normals(42, address, 1000));
}

BOOST_AUTO_TEST_CASE(known_philox_output) {
  // Philox4x32-10 known-answer vector (Salmon et al., Random123 kat_vectors): counter and key zero.
  r123::Philox4x32 generator;
  const auto out = generator({{0, 0, 0, 0}}, {{0, 0}});
  BOOST_TEST(out[0] == 0x6627e8d5u);
  BOOST_TEST(out[1] == 0xe169c58du);
  BOOST_TEST(out[2] == 0xbc57ac4cu);
  BOOST_TEST(out[3] == 0x9b00dbd8u);
}

BOOST_AUTO_TEST_CASE(addresses_separate_the_numbers) {
  const auto base = normals(42, {1, 0, Stream::inputs}, 100);
  BOOST_TEST(base != normals(43, {1, 0, Stream::inputs}, 100));
  BOOST_TEST(base != normals(42, {2, 0, Stream::inputs}, 100));
  BOOST_TEST(base != normals(42, {1, 1, Stream::inputs}, 100));
  BOOST_TEST(base != normals(42, {1, 0, Stream::query}, 100));
  // The upper point word is used too.
  BOOST_TEST(base != normals(42, {1 + (1ull << 32), 0, Stream::inputs}, 100));
}

BOOST_AUTO_TEST_CASE(stable_hash_is_fnv1a) {
  // FNV-1a 64 reference values.
  BOOST_TEST(stable_hash("") == 0xcbf29ce484222325ull);
  BOOST_TEST(stable_hash("a") == 0xaf63dc4c8601ec8cull);
}

BOOST_AUTO_TEST_CASE(normal_moments) {
  // 10^6 draws: the standard errors of mean, variance and fourth moment are 0.001, 0.0014, 0.0098;
  // the bounds are 5 of them.
  RandomStream random(7, {3, 0, Stream::inputs});
  const int n = 1000000;
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = random.normal();
    s1 += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
  }
  BOOST_TEST(std::abs(s1 / n) < 0.005);
  BOOST_TEST(std::abs(s2 / n - 1.0) < 0.007);
  BOOST_TEST(std::abs(s3 / n) < 0.02);  // sd of z³ is √15
  BOOST_TEST(std::abs(s4 / n - 3.0) < 0.05);
}

BOOST_AUTO_TEST_CASE(exponential_moments) {
  RandomStream random(7, {4, 0, Stream::covariance});
  const int n = 1000000;
  double s1 = 0, s2 = 0, s3 = 0;
  for (int i = 0; i < n; ++i) {
    const double e = random.exponential();
    BOOST_REQUIRE(e > 0.0);
    s1 += e;
    s2 += e * e;
    s3 += e * e * e;
  }
  // sd of the estimates: 0.001 (mean), 0.0045 (E e² = 2), 0.03 (E e³ = 6); 5 of them.
  BOOST_TEST(std::abs(s1 / n - 1.0) < 0.005);
  BOOST_TEST(std::abs(s2 / n - 2.0) < 0.025);
  BOOST_TEST(std::abs(s3 / n - 6.0) < 0.16);
}

BOOST_AUTO_TEST_CASE(streams_are_uncorrelated) {
  // Correlation between neighbouring prompts' and streams' normals: sd 1/√n = 0.0022; bound 5 sd.
  const int n = 200000;
  const auto a = normals(9, {5, 0, Stream::inputs}, n);
  const auto b = normals(9, {5, 1, Stream::inputs}, n);
  const auto c = normals(9, {5, 0, Stream::query}, n);
  double ab = 0, ac = 0, lag = 0;
  for (int i = 0; i < n; ++i) {
    ab += a[i] * b[i];
    ac += a[i] * c[i];
    if (i > 0) lag += a[i] * a[i - 1];
  }
  BOOST_TEST(std::abs(ab / n) < 0.011);
  BOOST_TEST(std::abs(ac / n) < 0.011);
  BOOST_TEST(std::abs(lag / n) < 0.011);
}

BOOST_AUTO_TEST_CASE(uniform_index_is_unbiased) {
  // Chi-square with 6 degrees of freedom: 99.99% quantile is 27.9.
  RandomStream random(11, {6, 0, Stream::shift});
  const int n = 700000;
  std::vector<int> counts(7, 0);
  for (int i = 0; i < n; ++i) ++counts[random.index(7)];
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
  BOOST_TEST(chi2 < 27.9);
}

BOOST_AUTO_TEST_CASE(uniform_stays_inside_open_interval) {
  RandomStream random(1, {0, 0, Stream::task});
  for (int i = 0; i < 100000; ++i) {
    const double u = random.uniform();
    BOOST_REQUIRE(u > 0.0);
    BOOST_REQUIRE(u < 1.0);
  }
}

BOOST_AUTO_TEST_CASE(haar_matrices_are_orthogonal_and_uniform) {
  const int dim = 4;
  const int draws = 20000;
  Eigen::MatrixXd second_moment = Eigen::MatrixXd::Zero(dim, dim);
  for (int k = 0; k < draws; ++k) {
    RandomStream random(3, {8, static_cast<std::uint32_t>(k), Stream::covariance});
    const Eigen::MatrixXd q = haar_orthogonal(dim, random);
    BOOST_REQUIRE((q.transpose() * q - Eigen::MatrixXd::Identity(dim, dim)).norm() < 1e-12);
    second_moment += q.cwiseProduct(q);
  }
  // Haar: E Q_ij² = 1/d for every entry (Q_ij² ~ Beta(1/2, 3/2): sd of each estimate 0.0018, bound
  // 5 sd).
  second_moment /= draws;
  BOOST_TEST((second_moment.array() - 1.0 / dim).abs().maxCoeff() < 0.009);
}

BOOST_AUTO_TEST_CASE(ziggurat_layers_tile_the_half_gaussian) {
  // Known answers: r and v of Marsaglia & Tsang's 256-layer table; the recursion must land on the
  // top of the curve (x_256 = 0, f = 1) to rounding, or the layers would not have equal areas.
  const auto& layers = ziggurat_layers();
  BOOST_TEST(layers.tail_start == 3.6541528853610088);
  BOOST_TEST(std::abs(layers.layer_area - 4.92867323399e-3) < 1e-13);
  BOOST_TEST(layers.closure < 1e-12);
  for (int i = 1; i < ZigguratLayers::count; ++i) {
    BOOST_TEST(layers.x[i + 1] < layers.x[i]);
    // Every layer i >= 1 has the same area v = x_i (f(x_{i+1}) − f(x_i)).
    BOOST_TEST(std::abs(layers.x[i] * (layers.f[i + 1] - layers.f[i]) - layers.layer_area) < 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(normal_distribution_function) {
  // Kolmogorov-Smirnov against Φ on 4·10^5 draws (99.99% critical value 1.95/√n), and the
  // frequencies of the tail the ziggurat samples separately (|z| > r) and of |z| > 4: binomial
  // counts within 5 standard deviations.
  RandomStream random(13, {8, 0, Stream::inputs});
  const int n = 400000;
  std::vector<double> values(n);
  for (auto& v : values) v = random.normal();
  std::sort(values.begin(), values.end());
  double distance = 0;
  for (int i = 0; i < n; ++i) {
    const double cdf = 0.5 * std::erfc(-values[i] / std::sqrt(2.0));
    distance =
        std::max({distance, std::abs(cdf - double(i) / n), std::abs(cdf - double(i + 1) / n)});
  }
  BOOST_TEST(distance < 1.95 / std::sqrt(double(n)));

  RandomStream tail_random(13, {9, 0, Stream::inputs});
  const int draws = 4000000;
  const double r = ziggurat_layers().tail_start;
  int beyond_r = 0, beyond_4 = 0;
  for (int i = 0; i < draws; ++i) {
    const double z = std::abs(tail_random.normal());
    beyond_r += z > r;
    beyond_4 += z > 4.0;
  }
  for (auto [count, threshold] : {std::pair{beyond_r, r}, std::pair{beyond_4, 4.0}}) {
    const double p = std::erfc(threshold / std::sqrt(2.0));
    const double expected = draws * p, sd = std::sqrt(draws * p * (1 - p));
    BOOST_TEST(std::abs(count - expected) < 5 * sd,
               "threshold " << threshold << ": " << count << " vs " << expected);
  }
}

BOOST_AUTO_TEST_CASE(gamma_moments) {
  // Mean and variance of Gamma(a) are both a; E[g^3] = a(a+1)(a+2). 2·10^5 draws each, 5 sd bounds.
  for (double shape : {0.5, 1.0, 2.5, 19.5}) {
    RandomStream random(17, {10, 0, Stream::covariance});
    const int n = 200000;
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double g = gamma_variate(shape, random);
      BOOST_REQUIRE(g > 0.0);
      s1 += g;
      s2 += g * g;
    }
    const double mean = s1 / n, variance = s2 / n - mean * mean;
    BOOST_TEST(std::abs(mean - shape) < 5 * std::sqrt(shape / n), "shape " << shape);
    // sd of the sample variance ≈ sqrt((μ4 − σ⁴)/n), μ4 = 3a² + 6a for the gamma law.
    BOOST_TEST(std::abs(variance - shape) <
                   5 * std::sqrt((3 * shape * shape + 6 * shape - shape * shape) / n),
               "shape " << shape);
  }
}

BOOST_AUTO_TEST_CASE(batched_philox_equals_random123_block_by_block) {
  // The stream computes up to 16 blocks at a time on the widest path this CPU runs; its words must
  // be Random123's Philox4x32-10 of the counters (point lo, point hi, prompt, stream << 24 | block)
  // for block = 0, 1, 2, ... (40 blocks: the refills of 1, 2, 4, 8 and 16 blocks, and a 17th).
  const std::uint64_t seed = 0x0123456789abcdefull, point = 0xfedcba9876543210ull;
  RandomStream random(seed, {point, 77, Stream::query});
  r123::Philox4x32 philox;
  const r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  for (std::uint32_t block = 0; block < 40; ++block) {
    const r123::Philox4x32::ctr_type counter = {
        {static_cast<std::uint32_t>(point), static_cast<std::uint32_t>(point >> 32), 77u,
         (static_cast<std::uint32_t>(Stream::query) << 24) | block}};
    const auto expected = philox(counter, key);
    for (int word = 0; word < 4; ++word) BOOST_TEST(random.bits() == expected[word]);
  }
}

BOOST_AUTO_TEST_CASE(every_philox_path_gives_random123s_words) {
  // Each instruction-set path this CPU runs, at every count from 1 to 40 (whole and partial vector
  // groups), from several first blocks, with all counter and key bits in play.
  const PhiloxKey key = {0x89abcdefu, 0x01234567u};
  const PhiloxCounter counter = {0xdeadbeefu, 0xfedcba98u, 0x7654321u, 5u << 24};
  const r123::Philox4x32 philox;
  const auto paths = available_philox_paths();
  BOOST_TEST_MESSAGE("paths on this CPU: " << paths.size());
  BOOST_TEST((paths.front() == PhiloxPath::scalar));
  for (PhiloxPath path : paths)
    for (std::uint32_t first : {0u, 1u, 13u, (1u << 24) - 64}) {
      for (int count = 1; count <= 40; ++count) {
        std::vector<std::uint32_t> words(4 * count + 4, 0xa5a5a5a5u);
        philox_blocks(path, key, counter, first, count, words.data());
        for (int block = 0; block < count; ++block) {
          const auto expected = philox({{counter[0], counter[1], counter[2],
                                         counter[3] | (first + static_cast<std::uint32_t>(block))}},
                                       {{key[0], key[1]}});
          for (int w = 0; w < 4; ++w)
            BOOST_TEST(words[4 * block + w] == expected[w],
                       philox_path_name(path) << " first " << first << " count " << count
                                              << " block " << block << " word " << w);
        }
        // Nothing is written past the last block.
        for (int w = 0; w < 4; ++w) BOOST_TEST(words[4 * count + w] == 0xa5a5a5a5u);
      }
    }
}

BOOST_AUTO_TEST_CASE(a_wrong_philox_block_is_caught) {
  // Negative control for the test above: a counter off by one block gives other words.
  std::uint32_t right[4], wrong[4];
  philox_blocks(PhiloxPath::scalar, {1, 2}, {3, 4, 5, 0}, 7, 1, right);
  philox_blocks(PhiloxPath::scalar, {1, 2}, {3, 4, 5, 0}, 8, 1, wrong);
  BOOST_TEST(!std::equal(right, right + 4, wrong));
}

BOOST_AUTO_TEST_CASE(draws_of_mixed_width_follow_the_block_layout) {
  // 32- and 64-bit draws interleaved, across many refills: a 64-bit draw takes two consecutive
  // words of one block and skips the last word of a block when it would straddle two.
  const std::uint64_t seed = 99;
  const StreamAddress address{stable_hash("mixed"), 4, Stream::noise};
  RandomStream random(seed, address);
  std::vector<std::uint32_t> words(4 * 200);
  philox_blocks(
      PhiloxPath::scalar, {static_cast<std::uint32_t>(seed), 0},
      {static_cast<std::uint32_t>(address.point), static_cast<std::uint32_t>(address.point >> 32),
       address.prompt, static_cast<std::uint32_t>(Stream::noise) << 24},
      0, 200, words.data());
  std::size_t position = 0;
  for (int i = 0; i < 300; ++i) {
    if (i % 3 == 0) {
      BOOST_TEST(random.bits() == words[position]);
      ++position;
    } else {
      if (position % 4 == 3) ++position;
      const std::uint64_t expected =
          words[position] | static_cast<std::uint64_t>(words[position + 1]) << 32;
      BOOST_TEST(random.bits64() == expected);
      position += 2;
    }
  }
}

BOOST_AUTO_TEST_CASE(normals_in_an_array_equal_normals_one_by_one) {
  // fill_normals, fill_normal on a matrix, and normal() give the same numbers, over streams long
  // enough to take the ziggurat's wedges and tail many times, and after an odd number of words.
  for (std::uint32_t prompt = 0; prompt < 20; ++prompt) {
    const StreamAddress address{stable_hash("fill"), prompt, Stream::inputs};
    RandomStream one(5, address), array(5, address), matrix(5, address);
    if (prompt % 2 == 1) {
      one.bits();
      array.bits();
      matrix.bits();
    }
    std::vector<double> expected(5000), filled(5000);
    for (auto& value : expected) value = one.normal();
    array.fill_normals(filled.data(), filled.size());
    Eigen::MatrixXd as_matrix(50, 100);
    matrix.fill_normal(as_matrix);
    BOOST_TEST(filled == expected);
    BOOST_TEST(std::equal(expected.begin(), expected.end(), as_matrix.data()));
  }
}
