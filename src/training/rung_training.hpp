#pragma once
/// Training a setting's model in pieces, for successive halving (README "Training sweeps"): to
/// step `until` of its run, continuing from the record of an earlier piece. The record of an
/// unfinished run carries the minibatch trainer's whole state (src/io/schema.md: `trained_steps`
/// and the `state_*` datasets and attributes), so pieces may be trained on different ranks, in
/// different processes or after a restart; trained to the end it is the model train_setting
/// gives, bit for bit.
#include "core/grid_point.hpp"
#include "core/model_record.hpp"
#include "training/setting_training.hpp"

#include <cstdint>

namespace icl {

/// True when the setting's model is trained in steps by SGD or Adam (the minibatch trainer):
/// only those take part in successive halving.
bool trains_in_steps(const TrainingSetting& setting, const TrainingConfig& training);

/// The steps of the setting's whole run (the `steps` of [training] or [models]).
std::uint32_t run_steps(const TrainingSetting& setting, const TrainingConfig& training,
                        const DeepTrainingOptions& models);

/// The steps a record of train_setting_to has been trained for.
std::uint32_t trained_steps(const ModelRecord& model);

/// Remove the saved trainer state from a record (a candidate successive halving dropped keeps
/// its weights and curves, not the state to continue from).
void drop_training_state(ModelRecord& model);

/// Train the setting's model (trains_in_steps) to step `until` of its run (at most run_steps),
/// from `earlier` (a record this function returned, trained for fewer steps) or from the start;
/// then describe_training, and the validation loss appended to the record's rung curves
/// (`rung_steps`, `rung_validation_loss`, `rung_validation_stderr`). A divergence returns
/// the last good record (`earlier`, or the untrained one) marked `diverged` (the message) and
/// `diverged_before_steps`, with validation loss +inf; Interrupted on a stop.
ModelRecord train_setting_to(const TrainingSetting& setting, const TrainingConfig& training,
                             const DeepTrainingOptions& models, std::uint64_t seed,
                             std::uint32_t validation_prompts, std::uint32_t until,
                             const ModelRecord* earlier);

}  // namespace icl
