#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "io/files.hpp"
#include "io/result_file.hpp"
#include "parallel/signals.hpp"
#include "study/checkpoints.hpp"
#include "study/provenance.hpp"
#include "study/study.hpp"

#include <omp.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <sstream>

namespace icl {
namespace {

struct TrainOptions {
  std::string config;
  std::string output;
  bool force = false;
  std::vector<std::string> overrides;
};

/// "name value" for each of the model's scalar results it has (an Adam-trained lsa-L has no
/// closed-form limit, so no distance to it).
std::string summary(const ModelRecord& model) {
  std::string text;
  for (const char* name : {"final_distance", "loss_gap", "steps", "validation_loss", "seconds"}) {
    const auto found = model.numbers.find(name);
    if (found == model.numbers.end()) continue;
    std::ostringstream value;
    value << found->second;
    text += std::string(text.empty() ? "" : ", ") + name + " " + value.str();
  }
  return text;
}

int run_train(const TrainOptions& options) {
  const Study study = expand_study(parse_config_file(options.config, options.overrides));
  if (study.config.sweep.halving)
    throw ConfigError(study.config.source +
                      ": [sweep] strategy = \"halving\" chooses its models while training; "
                      "`train` trains every setting in full: use `icl-study run`");
  check_output_path(options.output, options.force, "use --force to replace it");
  check_output_folder(options.output);
  const OutputLock lock(options.output, "train " + options.config);
  remove_stale_temporaries(options.output);
  std::vector<ModelRecord> models;
  bool stopped = false;
  for (const auto& setting : study.settings) {
    try {
      install_checkpoints(::isatty(STDERR_FILENO), "training " + setting.key);
      const auto& config = study.config;
      models.push_back(train_setting(setting, training_of(config, setting),
                                     models_of(config, setting), config.seed,
                                     config.sweep.validation_prompts));
    } catch (const Interrupted&) {
      stopped = true;  // keep the models that finished
      break;
    }
    std::cerr << "trained " << setting.key << " (" << models.back().method
              << "): " << summary(models.back()) << '\n';
  }
  const std::size_t trained = models.size();
  ResultData data = empty_result(study, std::move(models));
  // The file is a study with every point pending: `run --resume` on it evaluates them (and trains
  // what is missing), and its closed forms must already be there as in a file `run` started.
  install_checkpoints(false, "");
  if (!stopped) fill_theory(study, data);
  fill_provenance(data.provenance, 1, omp_get_max_threads());
  write_result_file(options.output, data);
  std::cerr << "wrote " << trained << " of " << study.settings.size() << " trained models to "
            << options.output << '\n';
  if (stopped) {
    std::cerr << "icl-study: stopped by signal during training (continue with run --resume)\n";
    return exit_code::stopped;
  }
  return 0;
}

}  // namespace

CommandAction register_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* command = app.add_subcommand(
      "train", "Train every distinct training setting of a config's grid; write /models/<key>");
  command->add_option("config", options->config, "study config (TOML)")->required();
  command->add_option("-o,--output", options->output, "result file to write (HDF5)")->required();
  add_set_option(*command, options->overrides);
  command->add_flag("--force", options->force, "replace an existing output file");
  return [options](CommandContext&) {
    install_stop_handlers();
    return run_train(*options);
  };
}

}  // namespace icl
