#pragma once
/// The study config (TOML; README "Study config"), parsed and validated in full before any work:
/// every problem is a ConfigError "FILE:LINE: [section] key: what was expected, what was found".
#include "training/setting_training.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace icl {

struct GridConfig {
  std::vector<int> dim, train_length, test_length;  ///< d, N, M
  std::vector<std::string> shift, covariance, task;
  std::vector<std::string> model;  ///< "lsa" (default), "lsa-L"
  /// The block's `predictors`: a subset of [evaluation] predictors evaluated at its points (empty:
  /// all). The others are left unevaluated there (risk NaN, 0 prompts), so that a block can use
  /// the sufficient-statistic sampler at M = 10^7 in a study whose other blocks have knn3.
  std::vector<std::string> predictors;
};

/// `[study] sampler`: auto uses the sufficient-statistic sampler wherever it is valid.
enum class SamplerChoice { automatic, plain, sufficient };

/// One combination of the values listed in [training] or [models]: its options, and the label
/// "key=value;key=value" of the listed keys ("" when nothing is listed).
template <typename Options>
struct Variant {
  Options options;
  std::string label;
};

/// `[sweep]`.
struct SweepConfig {
  int replicates = 1;  ///< independently initialised and sampled models per training setting
  std::uint32_t validation_prompts = 4096;  ///< held-out prompts of each model's validation loss
  /// Successive halving (README "Training sweeps"): every candidate of a group trains for
  /// min_steps, the best 1/eta of the variants by validation loss continue to min_steps·eta, and
  /// so on up to max_steps, which is every minibatch model's `steps`.
  bool halving = false;
  int eta = 3;
  std::uint32_t min_steps = 0, max_steps = 0;
};

struct StudyConfig {
  std::string source;  ///< the file it came from
  std::string text;    ///< the TOML text, stored in result files
  std::string name;
  std::uint64_t seed = 1;
  std::uint32_t prompts = 0;
  SamplerChoice sampler = SamplerChoice::automatic;
  std::vector<GridConfig> grids;                           ///< [grid], or the blocks of [[grid]]
  TrainingConfig training;                                 ///< the first of training_variants
  std::vector<Variant<TrainingConfig>> training_variants;  ///< [training], one per combination
  DeepTrainingOptions models;  ///< [models]: Adam for the deep models; the first of model_variants
  std::vector<Variant<DeepTrainingOptions>> model_variants;
  SweepConfig sweep;
  std::vector<std::string> predictors;
};

/// `overrides` are `--set section.key=value` items (study/config_section.hpp): applied to the
/// parsed config and validated with it; the config's text is then the effective config in TOML,
/// headed by a comment that names the file and the overrides.
StudyConfig parse_config_file(const std::string& path,
                              const std::vector<std::string>& overrides = {});
StudyConfig parse_config_text(const std::string& text, const std::string& source,
                              const std::vector<std::string>& overrides = {});

}  // namespace icl
