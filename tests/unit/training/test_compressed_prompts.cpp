#define BOOST_TEST_MODULE training_compressed_prompts
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "test_support.hpp"
#include "training/compressed_prompts.hpp"
#include "training/stochastic.hpp"

#include <Eigen/Cholesky>
#include <omp.h>

using namespace icl;

BOOST_AUTO_TEST_CASE(any_columns_with_the_same_second_moment_give_the_same_gradient) {
  // The premise of compressed prompts: a whole prompt's N columns and q = d + 1 columns with the
  // same Σ e eᵀ (here its Cholesky factor) give the same loss and gradient when both are
  // normalised by N. Negative control: normalised by q, they do not.
  const int dim = 3, length = 12;
  const auto covariance = Covariance::parse("rotated:diag:3,1,0.5", dim, 2);
  Prompt prompt;
  PromptSampler(covariance, length, 0.3).sample(1, 2, 3, prompt);
  Eigen::MatrixXd columns(dim + 1, length);
  columns.topRows(dim) = prompt.inputs;
  columns.row(dim) = prompt.labels.transpose();
  const Eigen::MatrixXd factor = (columns * columns.transpose()).llt().matrixL();
  Prompt stand_in = prompt;
  stand_in.inputs = factor.topRows(dim);
  stand_in.labels = factor.row(dim).transpose();

  const LsaParameters parameters = testing::random_lsa_parameters(dim, 0.5);
  LsaParameters whole = LsaParameters::zero(dim), compressed = whole, wrong = whole;
  const double whole_loss = accumulate_prompt_gradient(prompt, parameters, whole);
  const double compressed_loss =
      accumulate_columns_gradient(stand_in, length, parameters, compressed);
  BOOST_TEST(testing::relative_difference(whole_loss, compressed_loss) < 1e-12);
  BOOST_TEST(testing::relative_difference(whole.key_query, compressed.key_query) < 1e-12);
  BOOST_TEST(testing::relative_difference(whole.value_projection, compressed.value_projection) <
             1e-12);
  accumulate_prompt_gradient(stand_in, parameters, wrong);  // normalised by q = 4
  BOOST_TEST(testing::relative_difference(whole.key_query, wrong.key_query) > 0.1);
}

BOOST_AUTO_TEST_CASE(stand_in_columns_have_the_law_of_the_samplers_statistics) {
  // Known answers of one draw: q = d + 1 columns with noise, d without; the inputs' stand-ins are
  // F L (lower triangular for a diagonal F), the labels wᵀ x̃_j (+ σ L_dj).
  const auto diagonal = Covariance::parse("diag:4,1,0.25", 3, 1);
  Prompt out;
  CompressedPromptSampler(PromptLaw::unshifted(diagonal, Task::parse("linear")), 10)
      .sample(1, 2, 3, out);
  BOOST_TEST(out.inputs.rows() == 3);
  BOOST_TEST(out.inputs.cols() == 3);
  BOOST_TEST(out.inputs(0, 1) == 0.0);
  BOOST_TEST(out.inputs(1, 2) == 0.0);
  BOOST_TEST((out.labels - out.inputs.transpose() * out.task).norm() < 1e-12);
  BOOST_TEST(std::abs(out.query_label - out.task.dot(out.query)) < 1e-12);
  CompressedPromptSampler(PromptLaw::unshifted(diagonal, Task::parse("linear+noise=0.5")), 10)
      .sample(1, 2, 3, out);
  BOOST_TEST(out.inputs.cols() == 4);
  BOOST_TEST(out.labels.size() == 4);
  BOOST_TEST((out.labels - out.inputs.transpose() * out.task).norm() > 0.0);
}

BOOST_AUTO_TEST_CASE(laws_without_sufficient_statistics_are_refused_and_fall_back) {
  const auto covariance = Covariance::parse("toeplitz:0.5", 4, 1);
  const auto obstacle = [&](const char* task, int length) {
    return compressed_prompt_obstacle(PromptLaw::unshifted(covariance, Task::parse(task)), length);
  };
  BOOST_TEST(obstacle("linear", 4).empty());
  BOOST_TEST(obstacle("sparse:2", 8).empty());
  BOOST_TEST(!obstacle("relu", 8).empty());
  BOOST_TEST(!obstacle("linear+noise=0.1", 4).empty());  // q = 5 columns > 4
  BOOST_TEST(obstacle("linear+noise=0.1", 5).empty());
  BOOST_TEST(!obstacle("linear", 3).empty());
  BOOST_CHECK_THROW(
      CompressedPromptSampler(PromptLaw::unshifted(covariance, Task::parse("tanh")), 8),
      ConfigError);

  // A refused law trains on whole prompts: the same bits as with compression switched off.
  StochasticOptions options;
  options.steps = 20;
  options.batch = 40;
  options.learning_rate = 1e-2;
  const auto relu = Task::parse("relu");
  const auto with = train_stochastic(covariance, 8, options, 3, 4, relu);
  options.compressed_prompts = false;
  const auto without = train_stochastic(covariance, 8, options, 3, 4, relu);
  BOOST_CHECK(with.parameters.key_query == without.parameters.key_query);
  // A linear task is compressed: other random numbers, other bits.
  const auto plain = train_stochastic(covariance, 8, options, 3, 4);
  options.compressed_prompts = true;
  const auto compressed = train_stochastic(covariance, 8, options, 3, 4);
  BOOST_CHECK(plain.parameters.key_query != compressed.parameters.key_query);
}

BOOST_AUTO_TEST_CASE(compressed_training_does_not_depend_on_the_thread_count) {
  const auto covariance = Covariance::parse("rotated:diag:3,1,0.5,0.2", 4, 3);
  StochasticOptions options;
  options.steps = 30;
  options.batch = 100;  // not a multiple of the chunk size
  options.init = Initialisation::dense;
  options.learning_rate = 1e-2;
  const auto task = Task::parse("linear+noise=0.2");
  omp_set_num_threads(1);
  const auto one = train_stochastic(covariance, 8, options, 3, 4, task);
  omp_set_num_threads(2);
  const auto two = train_stochastic(covariance, 8, options, 3, 4, task);
  BOOST_CHECK(one.parameters.key_query == two.parameters.key_query);
  BOOST_CHECK(one.parameters.value_projection == two.parameters.value_projection);
}
