#define BOOST_TEST_MODULE core_softmax_attention
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"
#include "core/softmax_attention.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

using namespace icl;

namespace {

Prompt random_prompt(int dim, int length, std::uint32_t index) {
  const auto covariance = Covariance::parse("toeplitz:0.4", dim, 1);
  const PromptSampler sampler(covariance, length, 0.3);
  Prompt prompt;
  sampler.sample(5, stable_hash("softmax"), index, prompt);
  return prompt;
}

SoftmaxParameters random_parameters(int dim, int depth, int heads, double scale) {
  SoftmaxParameters parameters = SoftmaxParameters::zero(dim, depth, heads);
  RandomStream random(9, {stable_hash("softmax-parameters"), 0, Stream::parameters});
  for (auto& head : parameters.weights) {
    random.fill_normal(head.value_projection);
    random.fill_normal(head.key_query);
    head.value_projection *= scale;
    head.key_query *= scale;
  }
  return parameters;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gradient_matches_central_differences) {
  // Every entry of every head's W^{PV} and W^{KQ}, for (L, H) = (1, 1), (1, 3), (2, 2), (3, 1):
  // central differences with step 1e-6, agreement to 1e-6 relative.
  for (auto [depth, heads] : {std::pair{1, 1}, {1, 3}, {2, 2}, {3, 1}}) {
    const Prompt prompt = random_prompt(3, 6, static_cast<std::uint32_t>(10 * depth + heads));
    const Eigen::MatrixXd embedding = embed(prompt);
    SoftmaxParameters parameters = random_parameters(3, depth, heads, 0.5);
    SoftmaxParameters gradient = SoftmaxParameters::zero(3, depth, heads);
    softmax_attention_loss_gradient(embedding, prompt.query_label, parameters, gradient);
    auto loss = [&] {
      const double r = softmax_attention_predict(embedding, parameters) - prompt.query_label;
      return 0.5 * r * r;
    };
    double worst = 0;
    for (std::size_t k = 0; k < parameters.weights.size(); ++k)
      for (int which = 0; which < 2; ++which) {
        Eigen::MatrixXd& matrix =
            which == 0 ? parameters.weights[k].value_projection : parameters.weights[k].key_query;
        const Eigen::MatrixXd& analytic =
            which == 0 ? gradient.weights[k].value_projection : gradient.weights[k].key_query;
        for (Eigen::Index j = 0; j < matrix.cols(); ++j)
          for (Eigen::Index i = 0; i < matrix.rows(); ++i) {
            const double saved = matrix(i, j), step = 1e-6;
            matrix(i, j) = saved + step;
            const double up = loss();
            matrix(i, j) = saved - step;
            const double down = loss();
            matrix(i, j) = saved;
            const double numeric = (up - down) / (2 * step);
            worst = std::max(worst,
                             std::abs(numeric - analytic(i, j)) / std::max(1.0, std::abs(numeric)));
          }
      }
    BOOST_TEST_MESSAGE("L = " << depth << ", H = " << heads << ": worst relative error " << worst);
    BOOST_TEST(worst < 1e-6, "L = " << depth << ", H = " << heads);
  }
}

BOOST_AUTO_TEST_CASE(the_query_does_not_attend_to_itself) {
  // Changing the query column's own key-side content cannot change what the prompt columns see,
  // and with value projections reading only the label row, ŷ is a weighted mean of the labels.
  const Prompt prompt = random_prompt(3, 5, 3);
  SoftmaxParameters parameters = random_parameters(3, 1, 1, 0.4);
  parameters.weights[0].value_projection.setZero();
  parameters.weights[0].value_projection(3, 3) = -1.0;  // out(label) −= Σ_i a_i y_i
  const double prediction = softmax_attention_predict(embed(prompt), parameters);
  BOOST_TEST(prediction >= prompt.labels.minCoeff() - 1e-12);
  BOOST_TEST(prediction <= prompt.labels.maxCoeff() + 1e-12);
}
