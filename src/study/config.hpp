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
};

/// `[study] sampler`: auto uses the sufficient-statistic sampler wherever it is valid.
enum class SamplerChoice { automatic, plain, sufficient };

struct StudyConfig {
  std::string source;  ///< the file it came from
  std::string text;    ///< the TOML text, stored in result files
  std::string name;
  std::uint64_t seed = 1;
  std::uint32_t prompts = 0;
  SamplerChoice sampler = SamplerChoice::automatic;
  std::vector<GridConfig> grids;  ///< [grid], or the blocks of [[grid]]
  TrainingConfig training;
  DeepTrainingOptions models;  ///< [models]: Adam for the lsa-L models of the grid axis `model`
  std::vector<std::string> predictors;
};

StudyConfig parse_config_file(const std::string& path);
StudyConfig parse_config_text(const std::string& text, const std::string& source);

}  // namespace icl
