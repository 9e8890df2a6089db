#pragma once
/// One grid point evaluated: its predictors built from the point's trained model and laws, their
/// risks estimated by Monte Carlo over a range of the point's chunks (by the sufficient-statistic
/// sampler where the point allows it, by the plain one otherwise), and their closed forms.
#include "core/grid_point.hpp"
#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"
#include "training/setting_training.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace icl {

/// Everything a point's predictors and closed forms need. `trained` is the model of the point's
/// setting, when there is one (a study without the `lsa` predictor trains none).
PointModel point_model(const GridPoint& point, const SettingModel* trained, std::uint64_t seed);

/// The statistics of chunks [first_chunk, first_chunk + chunks) of the point's `prompts` test
/// prompts, per predictor (in the order of `predictors`); std::nullopt when `interrupted` said
/// stop. Throws NumericalError naming the point when an estimate is not finite.
std::optional<ChunkStatistics> evaluate_point(const GridPoint& point, const SettingModel* trained,
                                              const std::vector<std::string>& predictors,
                                              std::uint64_t seed, std::uint32_t prompts,
                                              std::uint32_t first_chunk, std::uint32_t chunks,
                                              const std::function<bool()>& interrupted);

/// The point's closed-form risks (NaN where a predictor has none) and their kind.
struct PointTheory {
  std::string source;  ///< "closed-form", "monte-carlo" (task moments estimated) or "none"
  std::vector<double> risks;
};
PointTheory point_theory(const GridPoint& point, const std::vector<std::string>& predictors,
                         std::uint64_t seed);

}  // namespace icl
