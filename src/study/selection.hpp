#pragma once
/// Choosing among the variants of a training sweep by the models' validation loss (held-out
/// prompts of the training law, never the test risk): per group of models that differ only by
/// their variant and replicate, the candidates ranked by their mean validation loss over
/// replicates.
#include "io/result_file.hpp"

#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace icl {

struct Candidate {
  std::string group;  ///< "d=5;N=10;covariance=identity;task=linear;model=lsa-2"
  std::int64_t dim = 0, train_length = 0;
  std::string covariance, task, model;
  std::string training;                 ///< the variant's label ("" when nothing was swept)
  std::vector<std::string> model_keys;  ///< one per replicate, by replicate
  int replicates = 0;
  double validation_loss = 0;    ///< mean over replicates
  double validation_spread = 0;  ///< standard deviation over replicates (NaN for one)
  double validation_stderr = 0;  ///< of the mean: over replicates, or the prompts' for one
  int rank = 0;                  ///< 1 = the best of its group
  /// Successive halving dropped it at this rung (its losses are from there): ranked after the
  /// candidates that went further. 0: trained in full.
  std::int64_t eliminated_at_steps = 0;

  /// The winner of its group: ranked first with a finite loss (a group whose every candidate
  /// diverged has none).
  bool selected() const { return rank == 1 && std::isfinite(validation_loss); }
};

/// Every candidate of every group, groups in the order of their first model, candidates by rank.
/// Throws ConfigError naming `path` when a model has no validation loss (a file from before
/// validation losses existed: train it again).
std::vector<Candidate> rank_candidates(const ResultData& data, const std::string& path);

/// The /models keys of the winners (rank 1), every replicate.
std::set<std::string> selected_model_keys(const std::vector<Candidate>& candidates);

}  // namespace icl
