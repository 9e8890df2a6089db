#pragma once
/// Successive halving over a sweep's training variants (README "Training sweeps"): the rungs'
/// step budgets and the choice of the variants that go on after a rung. Pure functions of the
/// study and the validation losses, so every rank, shard and restart makes the same choice; the
/// rungs themselves are trained by src/study/run.cpp.
#include "study/study.hpp"

#include <cstdint>
#include <map>
#include <vector>

namespace icl {

/// The step budgets of the rungs: min_steps, min_steps·eta, min_steps·eta², …, up to and ending
/// with max_steps.
std::vector<std::uint32_t> halving_budgets(const SweepConfig& sweep);

/// The group a setting competes in: its d, N, covariance, task and model ("d=5;N=10;...").
std::string selection_group(const TrainingSetting& setting);

/// Of the settings `alive` (indices into study.settings) with their validation losses after a
/// rung, those that go on: in each group the ceil(k/eta) of its k variants with the lowest mean
/// loss over their replicates (ties: the earlier variant of the config), with all their
/// replicates. A NaN loss ranks last; a non-finite one (a diverged candidate) is never kept, so
/// eta = 1 keeps exactly the candidates that did not diverge. In ascending order.
std::vector<std::size_t> halving_survivors(const Study& study,
                                           const std::vector<std::size_t>& alive,
                                           const std::map<std::size_t, double>& losses, int eta);

/// Every setting of the groups that `settings` touch: a shard trains whole groups, so that every
/// shard makes the same choices.
std::vector<std::size_t> whole_groups(const Study& study, const std::vector<std::size_t>& settings);

/// The cost model's estimate of training `settings` (whole groups) by successive halving, if no
/// variant ever tied: the budgets' increments times the variants still in each group.
double halving_training_cost(const Study& study, const std::vector<std::size_t>& settings);

}  // namespace icl
