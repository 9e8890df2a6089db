#define BOOST_TEST_MODULE core_lsa
#include <boost/test/unit_test.hpp>

#include "core/covariance.hpp"
#include "core/lsa.hpp"
#include "core/prompt.hpp"
#include "core/theory.hpp"
#include "test_support.hpp"

using namespace icl;

namespace {
LsaParameters random_parameters(int dim, std::uint32_t index) {
  RandomStream random(5, {stable_hash("test-parameters"), index, Stream::parameters});
  LsaParameters parameters = LsaParameters::zero(dim);
  random.fill_normal(parameters.value_projection);
  random.fill_normal(parameters.key_query);
  return parameters;
}
}  // namespace

BOOST_AUTO_TEST_CASE(embedding_layout) {
  const PromptSampler sampler(Covariance::parse("identity", 2, 1), 3, 0.0);
  Prompt prompt;
  sampler.sample(1, 2, 3, prompt);
  const Eigen::MatrixXd e = embed(prompt);
  BOOST_TEST(e.rows() == 3);
  BOOST_TEST(e.cols() == 4);
  BOOST_TEST(e(0, 3) == prompt.query(0));
  BOOST_TEST(e(2, 1) == prompt.labels(1));
  BOOST_TEST(e(2, 3) == 0.0);
  BOOST_TEST(std::abs(prompt.labels(1) - prompt.task.dot(prompt.inputs.col(1))) < 1e-14);
}

BOOST_AUTO_TEST_CASE(full_forward_pass_equals_reduced_form) {
  // Random dense θ (p, q ≠ 0) and prompts from anisotropic laws: both are the same polynomial in
  // the entries, evaluated in a different order, so they agree to rounding (bound 1e-12 relative).
  const char* specs[] = {testing::reference_diag, "toeplitz:0.7", "rotated:power:1"};
  int case_index = 0;
  for (const char* spec : specs) {
    const auto covariance = Covariance::parse(spec, 5, 3);
    for (int length : {1, 3, 10, 40}) {
      const PromptSampler sampler(covariance, length, 0.5);
      Prompt prompt;
      for (std::uint32_t k = 0; k < 5; ++k) {
        sampler.sample(11, 77, k, prompt);
        const auto parameters = random_parameters(5, case_index++);
        const double full = lsa_predict_full(prompt, parameters);
        const double reduced = lsa_predict_reduced(prompt, parameters);
        BOOST_TEST(testing::relative_difference(full, reduced) < 1e-12,
                   spec << " n=" << length << " full=" << full << " reduced=" << reduced);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(optimal_parameters_predict_with_gamma_inverse) {
  // With Theorem 4.1's weights the forward pass is ŷ = x_qᵀ Γ^{-1} h (eq. 4.2), on a test prompt
  // of another length.
  const auto covariance = Covariance::parse("toeplitz:0.6", 4, 1);
  const auto parameters = theory::optimal_parameters(covariance.matrix(), 10);
  const Eigen::MatrixXd gamma_inverse = theory::gamma(covariance.matrix(), 10).inverse();
  BOOST_TEST(testing::relative_difference(effective_preconditioner(parameters), gamma_inverse) <
             1e-13);
  const PromptSampler sampler(covariance, 25, 0.0);
  Prompt prompt;
  PromptMoments moments;
  for (std::uint32_t k = 0; k < 10; ++k) {
    sampler.sample(2, 3, k, prompt);
    compute_moments(prompt, moments);
    const double expected = prompt.query.dot(gamma_inverse * moments.label_weighted_mean);
    BOOST_TEST(testing::relative_difference(lsa_predict_full(prompt, parameters), expected) <
               1e-12);
  }
}

BOOST_AUTO_TEST_CASE(only_last_row_of_pv_and_first_columns_of_kq_matter) {
  const PromptSampler sampler(Covariance::parse("diag:2,1,0.5", 3, 1), 6, 0.0);
  Prompt prompt;
  sampler.sample(1, 1, 1, prompt);
  auto parameters = random_parameters(3, 1000);
  const double before = lsa_predict_full(prompt, parameters);
  parameters.value_projection.topRows(3).setConstant(7.0);
  parameters.key_query.col(3).setConstant(-3.0);
  BOOST_TEST(testing::relative_difference(lsa_predict_full(prompt, parameters), before) < 1e-12);
}
