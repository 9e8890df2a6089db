#define BOOST_TEST_MODULE core_deep_lsa
#include <boost/test/unit_test.hpp>

#include "core/deep_lsa.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

using namespace icl;

namespace {

Prompt random_prompt(int dim, int length, std::uint32_t index) {
  // Anisotropic inputs and a noisy label, so that no term of the model is trivially zero.
  const auto covariance = Covariance::parse("toeplitz:0.4", dim, 1);
  const PromptSampler sampler(covariance, length, 0.3);
  Prompt prompt;
  sampler.sample(5, stable_hash("deep-lsa"), index, prompt);
  return prompt;
}

DeepLsaParameters random_parameters(int dim, int depth, double scale) {
  DeepLsaParameters parameters = DeepLsaParameters::zero(dim, depth);
  RandomStream random(9, {stable_hash("deep-lsa-parameters"), 0, Stream::parameters});
  for (auto& layer : parameters.layers) {
    random.fill_normal(layer.value_projection);
    random.fill_normal(layer.key_query);
    layer.value_projection *= scale;
    layer.key_query *= scale;
  }
  return parameters;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gradient_matches_central_differences) {
  // Every entry of every layer's W^{PV} and W^{KQ}, L = 1, 2, 3, by central differences with step
  // 1e-6: agreement to 1e-6 relative (the differences' own truncation error is ~1e-10).
  for (int depth : {1, 2, 3}) {
    const Prompt prompt = random_prompt(3, 6, static_cast<std::uint32_t>(depth));
    const Eigen::MatrixXd embedding = embed(prompt);
    DeepLsaParameters parameters = random_parameters(3, depth, 0.4);
    DeepLsaParameters gradient = DeepLsaParameters::zero(3, depth);
    deep_lsa_loss_gradient(embedding, prompt.query_label, parameters, gradient);
    auto loss = [&] {
      const double r = deep_lsa_predict(embedding, parameters) - prompt.query_label;
      return 0.5 * r * r;
    };
    double worst = 0;
    for (int l = 0; l < depth; ++l)
      for (Eigen::MatrixXd* matrix :
           {&parameters.layers[l].value_projection, &parameters.layers[l].key_query}) {
        const bool is_value = matrix == &parameters.layers[l].value_projection;
        const Eigen::MatrixXd& analytic =
            is_value ? gradient.layers[l].value_projection : gradient.layers[l].key_query;
        for (Eigen::Index j = 0; j < matrix->cols(); ++j)
          for (Eigen::Index i = 0; i < matrix->rows(); ++i) {
            const double saved = (*matrix)(i, j), step = 1e-6;
            (*matrix)(i, j) = saved + step;
            const double up = loss();
            (*matrix)(i, j) = saved - step;
            const double down = loss();
            (*matrix)(i, j) = saved;
            const double numeric = (up - down) / (2 * step);
            worst = std::max(worst,
                             std::abs(numeric - analytic(i, j)) / std::max(1.0, std::abs(numeric)));
          }
      }
    BOOST_TEST_MESSAGE("L = " << depth << ": worst relative gradient error " << worst);
    BOOST_TEST(worst < 1e-6, "L = " << depth);
  }
}

BOOST_AUTO_TEST_CASE(hand_built_weights_run_preconditioned_gradient_descent) {
  // Ahn et al. (2023): L layers with W^{PV} = e eᵀ and W^{KQ} = −[Γ_lᵀ 0; 0 0] predict exactly as L
  // steps of w ← w + Γ_l (1/n) Σ x_i (y_i − wᵀx_i) from w = 0. Non-symmetric, different Γ_l per
  // step, anisotropic noisy prompts; agreement to rounding.
  const int dim = 4, length = 9;
  RandomStream random(3, {stable_hash("gamma"), 0, Stream::parameters});
  for (int depth : {1, 2, 3, 4}) {
    std::vector<Eigen::MatrixXd> preconditioners;
    for (int l = 0; l < depth; ++l) {
      Eigen::MatrixXd gamma(dim, dim);
      random.fill_normal(gamma);
      gamma = 0.15 * gamma + (0.5 + 0.2 * l) * Eigen::MatrixXd::Identity(dim, dim);
      preconditioners.push_back(gamma);
    }
    const auto parameters = DeepLsaParameters::preconditioned_gd(preconditioners);
    for (std::uint32_t k = 0; k < 5; ++k) {
      const Prompt prompt = random_prompt(dim, length, 100 + k);
      Eigen::VectorXd w = Eigen::VectorXd::Zero(dim);
      for (const auto& gamma : preconditioners) {
        const Eigen::VectorXd residuals = prompt.labels - prompt.inputs.transpose() * w;
        w += gamma * (prompt.inputs * residuals) / length;
      }
      const double expected = w.dot(prompt.query);
      const double predicted = deep_lsa_predict(embed(prompt), parameters);
      BOOST_TEST(std::abs(predicted - expected) <= 1e-12 * std::max(1.0, std::abs(expected)),
                 "L = " << depth << ": " << predicted << " vs " << expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(one_layer_is_zfb_with_the_value_projection_negated) {
  // With p = 0 the query mask changes nothing, and ŷ = −[Z_1] is ZFB's [f(E)] with −W^{PV}.
  const Prompt prompt = random_prompt(3, 7, 42);
  DeepLsaParameters parameters = random_parameters(3, 1, 0.5);
  parameters.layers[0].value_projection.row(3).head(3).setZero();  // p = 0
  LsaParameters zfb = parameters.layers[0];
  zfb.value_projection = -zfb.value_projection;
  const double deep = deep_lsa_predict(embed(prompt), parameters);
  BOOST_TEST(deep == lsa_predict_full(prompt, zfb), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(model_names) {
  BOOST_TEST(model_depth("lsa") == 0);
  BOOST_TEST(model_depth("lsa-1") == 1);
  BOOST_TEST(model_depth("lsa-16") == 16);
  const ModelSpec softmax = parse_model("softmax-3-4");
  BOOST_TEST((softmax.kind == ModelSpec::Kind::softmax));
  BOOST_TEST(softmax.depth == 3);
  BOOST_TEST(softmax.heads == 4);
  const ModelSpec from_gd = parse_model("lsa-3-gd");
  BOOST_TEST((from_gd.kind == ModelSpec::Kind::linear));
  BOOST_TEST(from_gd.depth == 3);
  BOOST_TEST(from_gd.starts_at_gd);
  BOOST_TEST(!parse_model("lsa-3").starts_at_gd);
  for (const char* bad :
       {"lsa-0", "lsa-17", "lsa-", "lsa-2x", "lsa-gd", "lsa-0-gd", "lsa-2-GD", "lsa-2-gd-gd",
        "softmax-2-2-gd", "softmax-2", "softmax-0-1", "softmax-2-17", "softmax--2", "LSA"})
    BOOST_CHECK_THROW(model_depth(bad), ConfigError);
}
