#define BOOST_TEST_MODULE training_rungs
#include <boost/test/unit_test.hpp>

#include "core/baselines.hpp"
#include "core/errors.hpp"
#include "training/rung_training.hpp"

#include <memory>

using namespace icl;

namespace {

/// A training setting as the study's expansion makes it, on an anisotropic covariance.
TrainingSetting setting_of(const std::string& model, int dim = 3, int train_length = 6) {
  TrainingSetting setting;
  setting.dim = dim;
  setting.train_length = train_length;
  setting.covariance = "rotated:diag:3,1,0.5";
  setting.inputs =
      std::make_shared<const Covariance>(Covariance::parse(setting.covariance, dim, 7));
  setting.model = model;
  setting.model_spec = parse_model(model);
  setting.key = "d=3;N=6;covariance=" + setting.covariance + ";task=linear;model=" + model;
  setting.random_address = 0x1234abcdULL;
  return setting;
}

void require_same_model(const ModelRecord& a, const ModelRecord& b) {
  BOOST_REQUIRE(a.value_projection.size() > 0);
  BOOST_TEST((a.value_projection == b.value_projection));  // bit for bit, not approximately
  BOOST_TEST((a.key_query == b.key_query));
  BOOST_TEST(a.loss == b.loss, boost::test_tools::per_element());
  for (const auto& [name, curve] : b.curves)
    BOOST_TEST(a.curves.at(name) == curve, boost::test_tools::per_element());
  BOOST_TEST(a.numbers.at("validation_loss") == b.numbers.at("validation_loss"));
}

/// Pieces of 7, 30 and the rest (7 is no multiple of the record interval or the chunk size) equal
/// the whole run; a record passes through a copy, as through the result file or MPI.
void check_pieces(const TrainingSetting& setting, const TrainingConfig& training,
                  const DeepTrainingOptions& models) {
  const std::uint64_t seed = 99;
  const ModelRecord whole = train_setting(setting, training, models, seed, 500);
  const std::uint32_t steps = run_steps(setting, training, models);
  ModelRecord piece = train_setting_to(setting, training, models, seed, 500, 7, nullptr);
  BOOST_TEST(trained_steps(piece) == 7u);
  BOOST_TEST(piece.curves.count("state_first") == 1u);
  const ModelRecord copy = piece;
  piece = train_setting_to(setting, training, models, seed, 500, 30, &copy);
  const ModelRecord middle = piece;
  piece = train_setting_to(setting, training, models, seed, 500, steps, &middle);
  BOOST_TEST(trained_steps(piece) == steps);
  BOOST_TEST(piece.curves.count("state_first") == 0u);  // a finished run keeps no optimiser state
  BOOST_TEST(piece.curves.at("rung_steps") == (std::vector<double>{7, 30, double(steps)}),
             boost::test_tools::per_element());
  BOOST_TEST(piece.curves.at("rung_validation_loss").back() == whole.numbers.at("validation_loss"));
  // The whole run's curves are a subset of the pieces' (which add the rung curves).
  ModelRecord without_rungs = piece;
  for (const char* name : {"rung_steps", "rung_validation_loss", "rung_validation_stderr"})
    without_rungs.curves.erase(name);
  require_same_model(without_rungs, whole);
  BOOST_TEST(without_rungs.curves.size() == whole.curves.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(pieces_of_an_lsa_2_run_equal_the_whole_run) {
  DeepTrainingOptions models;
  models.steps = 90;
  models.batch = 40;  // not a power of two
  models.learning_rate = 0.01;
  models.warmup_fraction = 0.3;  // the warm-up spans the first two pieces
  models.decay_every = 25;
  check_pieces(setting_of("lsa-2"), TrainingConfig(), models);
}

BOOST_AUTO_TEST_CASE(pieces_of_a_softmax_run_equal_the_whole_run) {
  DeepTrainingOptions models;
  models.steps = 50;
  models.batch = 24;
  check_pieces(setting_of("softmax-1-2"), TrainingConfig(), models);
}

BOOST_AUTO_TEST_CASE(pieces_of_one_layer_adam_and_sgd_runs_equal_the_whole_runs) {
  for (auto method : {TrainingMethod::adam, TrainingMethod::sgd}) {
    TrainingConfig training;
    training.method = method;
    training.stochastic.optimiser =
        method == TrainingMethod::adam ? Optimiser::adam : Optimiser::sgd;
    training.stochastic.steps = 60;
    training.stochastic.batch = 33;
    training.stochastic.learning_rate = method == TrainingMethod::adam ? 0.01 : 0.02;
    training.stochastic.init = Initialisation::dense;
    check_pieces(setting_of("lsa"), training, DeepTrainingOptions());
  }
}

BOOST_AUTO_TEST_CASE(a_piece_resumed_with_a_changed_state_differs) {
  // Negative control: the continuation reads the saved state (here Adam's second moment); were it
  // ignored or re-initialised, the changed copy would give the same model.
  DeepTrainingOptions models;
  models.steps = 40;
  models.batch = 16;
  const auto setting = setting_of("lsa-2");
  const TrainingConfig training;
  const ModelRecord piece = train_setting_to(setting, training, models, 5, 200, 10, nullptr);
  ModelRecord changed = piece;
  for (double& v : changed.curves.at("state_second")) v *= 4;
  const auto a = train_setting_to(setting, training, models, 5, 200, 40, &piece);
  const auto b = train_setting_to(setting, training, models, 5, 200, 40, &changed);
  BOOST_TEST(!(a.value_projection == b.value_projection));
  ModelRecord truncated = piece;
  truncated.curves.at("state_first").pop_back();
  BOOST_CHECK_THROW(train_setting_to(setting, training, models, 5, 200, 40, &truncated),
                    ConfigError);
}

BOOST_AUTO_TEST_CASE(only_minibatch_training_runs_in_pieces) {
  TrainingConfig flow;
  BOOST_TEST(!trains_in_steps(setting_of("lsa"), flow));
  BOOST_TEST(trains_in_steps(setting_of("lsa-2"), flow));
  BOOST_CHECK_THROW(
      train_setting_to(setting_of("lsa"), flow, DeepTrainingOptions(), 1, 100, 5, nullptr),
      ConfigError);
}

BOOST_AUTO_TEST_CASE(lsa_gd_starts_at_the_hand_built_weights_and_in_pieces_equals_the_whole_run) {
  DeepTrainingOptions models;
  models.steps = 60;
  models.batch = 20;
  models.learning_rate = 1e-3;
  const auto setting = setting_of("lsa-2-gd");
  BOOST_TEST(setting.model_spec.starts_at_gd);
  check_pieces(setting, TrainingConfig(), models);
  // Zero steps of Adam (a learning rate of 0) leave the hand-built weights: its validation loss
  // is then the reference loss, bit for bit (same held-out prompts, same weights).
  models.learning_rate = 0.0;
  const ModelRecord still = train_setting(setting, TrainingConfig(), models, 3, 300);
  BOOST_TEST(still.numbers.at("validation_loss") == still.numbers.at("reference_loss"));
  // Negative control: from random weights (lsa-2) the same run does not give that loss.
  const ModelRecord random = train_setting(setting_of("lsa-2"), TrainingConfig(), models, 3, 300);
  BOOST_TEST(random.numbers.at("validation_loss") != random.numbers.at("reference_loss"));
  BOOST_TEST(random.numbers.at("reference_loss") == still.numbers.at("reference_loss"));
}

BOOST_AUTO_TEST_CASE(reference_weights_are_pgd_with_the_step_tuned_on_the_training_law) {
  const auto setting = setting_of("lsa-3");
  const ReferenceWeights reference = reference_weights(setting, 11);
  BOOST_REQUIRE(reference.parameters.depth() == 3);
  const Eigen::MatrixXd preconditioner = training_preconditioner(*setting.inputs, 6);
  PromptLaw law(*setting.inputs);
  const double step = tune_gradient_step(
      law, 6, preconditioner, 3, 11, step_tuning_address(3, 6, setting.covariance, "linear", 3));
  BOOST_TEST(reference.step == step);
  // Every layer's W^{KQ} block is −(η P)ᵀ (core/deep_lsa.hpp's sign convention).
  for (const auto& layer : reference.parameters.layers)
    BOOST_TEST((layer.key_query.topLeftCorner(3, 3) + step * preconditioner.transpose())
                   .cwiseAbs()
                   .maxCoeff() < 1e-15);
  // ZFB's one layer: step 1, Theorem 4.1's global minimum.
  BOOST_TEST(reference_weights(setting_of("lsa"), 11).step == 1.0);
  // The reference loss is cached per setting but agrees with a fresh computation's value.
  const ReferenceLoss a = reference_loss(setting, 11, 300), b = reference_loss(setting, 11, 300);
  BOOST_TEST(a.loss == b.loss);
  BOOST_TEST(a.step == step);
}
