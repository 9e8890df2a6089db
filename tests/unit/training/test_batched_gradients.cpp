#define BOOST_TEST_MODULE training_batched_gradients
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"
#include "training/batched_gradients.hpp"
#include "training/lanes.hpp"
#include "training/minibatch.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace icl;

namespace {

// Anisotropic inputs and label noise, 11 prompts: a full pack of eight and a part pack of three.
std::vector<Prompt> chunk(int dim, int length, int count = 11) {
  const PromptSampler sampler(Covariance::parse("diag:3,1.5,0.5,0.2", dim, 1), length, 0.3);
  std::vector<Prompt> prompts(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    sampler.sample(7, stable_hash("batched"), static_cast<std::uint32_t>(i), prompts[i]);
  return prompts;
}

template <typename Parameters>
Parameters randomised(Parameters parameters, double scale, std::uint64_t seed = 3) {
  RandomStream random(seed, {stable_hash("batched-parameters"), 0, Stream::parameters});
  for (auto& pair : weight_pairs(parameters)) {
    random.fill_normal(pair.value_projection);
    random.fill_normal(pair.key_query);
    pair.value_projection *= scale;
    pair.key_query *= scale;
  }
  return parameters;
}

double reference(const Prompt& prompt, const DeepLsaParameters& p, DeepLsaParameters& g) {
  return deep_lsa_loss_gradient(embed(prompt), prompt.query_label, p, g);
}
double reference(const Prompt& prompt, const SoftmaxParameters& p, SoftmaxParameters& g) {
  return softmax_attention_loss_gradient(embed(prompt), prompt.query_label, p, g);
}

/// Largest |batched − reference| over every gradient entry, relative to the largest entry.
template <typename Parameters>
double relative_difference(Parameters& a, Parameters& b) {
  double worst = 0.0, scale = 0.0;
  auto x = weight_pairs(a), y = weight_pairs(b);
  for (std::size_t k = 0; k < x.size(); ++k) {
    worst = std::max({worst, (x[k].value_projection - y[k].value_projection).cwiseAbs().maxCoeff(),
                      (x[k].key_query - y[k].key_query).cwiseAbs().maxCoeff()});
    scale = std::max(
        {scale, y[k].value_projection.cwiseAbs().maxCoeff(), y[k].key_query.cwiseAbs().maxCoeff()});
  }
  return worst / scale;
}

template <typename Parameters>
bool same_bits(Parameters& a, Parameters& b) {
  auto x = weight_pairs(a), y = weight_pairs(b);
  for (std::size_t k = 0; k < x.size(); ++k)
    for (const auto& [u, v] : {std::pair{&x[k].value_projection, &y[k].value_projection},
                               std::pair{&x[k].key_query, &y[k].key_query}})
      if (std::memcmp(u->data(), v->data(), sizeof(double) * u->size()) != 0) return false;
  return true;
}

/// The batched loss and gradient against the per-prompt reference pass, summed in order, and
/// (negative control) against the reference at other weights, which must be far off.
template <typename Parameters>
void check_against_reference(const Parameters& zero, double scale) {
  const int dim = zero.dim();
  const auto prompts = chunk(dim, 6);
  const Parameters parameters = randomised(zero, scale);
  Parameters batched = zero, expected = zero, elsewhere = zero;
  const double loss = batched_loss_gradient(prompts, parameters, batched);
  double expected_loss = 0.0;
  for (const Prompt& prompt : prompts) expected_loss += reference(prompt, parameters, expected);
  BOOST_TEST(std::abs(loss - expected_loss) <= 1e-12 * expected_loss);
  BOOST_TEST(relative_difference(batched, expected) < 1e-12);
  const Parameters other = randomised(zero, scale * 1.01);
  for (const Prompt& prompt : prompts) reference(prompt, other, elsewhere);
  BOOST_TEST(relative_difference(batched, elsewhere) > 1e-4);
}

}  // namespace

BOOST_AUTO_TEST_CASE(linear_stacks_match_the_reference_pass) {
  // L = 1 (the last layer's shortcut alone), 2 and 4 (dense middle layers), d = 4, n = 6.
  for (int depth : {1, 2, 4}) {
    BOOST_TEST_CONTEXT("lsa-" << depth)
    check_against_reference(DeepLsaParameters::zero(4, depth), 0.4);
  }
}

BOOST_AUTO_TEST_CASE(softmax_stacks_match_the_reference_pass) {
  for (auto [depth, heads] : {std::pair{1, 1}, {1, 3}, {2, 2}, {3, 1}}) {
    BOOST_TEST_CONTEXT("softmax-" << depth << "-" << heads)
    check_against_reference(SoftmaxParameters::zero(4, depth, heads), 0.5);
  }
}

BOOST_AUTO_TEST_CASE(every_instruction_set_gives_the_same_bits) {
  const auto prompts = chunk(4, 6);
  const auto paths = available_kernel_paths();
  BOOST_TEST_MESSAGE("kernel paths on this CPU: " << paths.size());
  const auto linear = randomised(DeepLsaParameters::zero(4, 3), 0.4);
  const auto softmax = randomised(SoftmaxParameters::zero(4, 2, 2), 0.5);
  DeepLsaParameters linear_first = DeepLsaParameters::zero(4, 3);
  SoftmaxParameters softmax_first = SoftmaxParameters::zero(4, 2, 2);
  const double linear_loss = batched_loss_gradient(prompts, linear, linear_first, paths.front());
  const double softmax_loss = batched_loss_gradient(prompts, softmax, softmax_first, paths.front());
  for (KernelPath path : paths) {
    BOOST_TEST_CONTEXT(kernel_path_name(path)) {
      DeepLsaParameters a = DeepLsaParameters::zero(4, 3);
      SoftmaxParameters b = SoftmaxParameters::zero(4, 2, 2);
      BOOST_TEST(batched_loss_gradient(prompts, linear, a, path) == linear_loss);
      BOOST_TEST(batched_loss_gradient(prompts, softmax, b, path) == softmax_loss);
      BOOST_TEST(same_bits(a, linear_first));
      BOOST_TEST(same_bits(b, softmax_first));
    }
  }
  // The comparison can fail: another prompt order changes the sum's bits.
  auto reversed = prompts;
  std::swap(reversed.front(), reversed.back());
  DeepLsaParameters c = DeepLsaParameters::zero(4, 3);
  batched_loss_gradient(reversed, linear, c, paths.front());
  BOOST_TEST(!same_bits(c, linear_first));
}

BOOST_AUTO_TEST_CASE(the_split_of_a_chunk_into_packs_changes_no_bit) {
  // Prompts 0-2 then 3-10 fill their packs differently from 0-10 at once; each prompt's gradient
  // is its own lane's, added in the same order, so the sums agree bit for bit.
  const auto prompts = chunk(4, 6);
  const auto parameters = randomised(SoftmaxParameters::zero(4, 2, 2), 0.5);
  SoftmaxParameters whole = SoftmaxParameters::zero(4, 2, 2), parts = whole;
  batched_loss_gradient(prompts, parameters, whole);
  const std::span<const Prompt> all(prompts);
  batched_loss_gradient(all.first(3), parameters, parts);
  batched_loss_gradient(all.subspan(3), parameters, parts);
  BOOST_TEST(same_bits(whole, parts));
}

BOOST_AUTO_TEST_CASE(lane_exponential_against_the_library) {
  // Within 4 units in the last place of std::exp on [-700, 0], exactly 1 at 0, and the stated
  // clamp below -700; every lane computed alone.
  double worst = 0.0;
  for (int i = 0; i <= 70000; i += 8) {
    lanes::Lanes x;
    for (int b = 0; b < lanes::width; ++b) x[b] = -(i + b) / 100.0 - 1e-3 * b;
    const lanes::Lanes y = lanes::exp_nonpositive(x);
    for (int b = 0; b < lanes::width; ++b) {
      const double exact = std::exp(x[b] < -700.0 ? -700.0 : x[b]);
      worst = std::max(worst, std::abs(y[b] - exact) / exact);
    }
  }
  BOOST_TEST(worst < 4 * std::numeric_limits<double>::epsilon());
  const lanes::Lanes one = lanes::exp_nonpositive(lanes::Lanes{});
  BOOST_TEST(one[0] == 1.0);
  BOOST_TEST(lanes::exp_nonpositive(lanes::broadcast(-1e300))[3] == std::exp(-700.0));
}

BOOST_AUTO_TEST_CASE(kernel_paths_are_named_and_the_baseline_is_always_there) {
  // An unknown or unsupported ICL_KERNEL_PATH exits 2 (e2e_reproducibility runs the program).
  BOOST_TEST(kernel_path_name(KernelPath::baseline) == "baseline");
  BOOST_TEST(kernel_path_name(KernelPath::avx2) == "avx2");
  BOOST_TEST(kernel_path_name(KernelPath::avx512) == "avx512");
  BOOST_TEST((available_kernel_paths().front() == KernelPath::baseline));
}
