#include "cli/commands.hpp"
#include "cli/provenance.hpp"
#include "cli/study.hpp"
#include "io/result_file.hpp"

#include <omp.h>

#include <iostream>
#include <memory>

namespace icl {
namespace {

struct TrainOptions {
  std::string config;
  std::string output;
};

int run_train(const TrainOptions& options) {
  const Study study = expand_study(parse_config_file(options.config));
  std::vector<ModelRecord> models;
  for (const auto& setting : study.settings) {
    models.push_back(train_setting(setting, study.config));
    const auto& model = models.back();
    std::cerr << "trained " << setting.key << " (" << model.method << "): distance to the limit "
              << model.numbers.at("final_distance") << ", " << model.numbers.at("seconds")
              << " s\n";
  }
  ResultData data = empty_result(study, std::move(models));
  fill_provenance(data.provenance, 1, omp_get_max_threads());
  write_result_file(options.output, data);
  std::cerr << "wrote " << study.settings.size() << " trained models to " << options.output << '\n';
  return 0;
}

}  // namespace

CommandAction register_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* command = app.add_subcommand(
      "train", "Train every distinct training setting of a config's grid; write /models/<key>");
  command->add_option("config", options->config, "study config (TOML)")->required();
  command->add_option("-o,--output", options->output, "result file to write (HDF5)")->required();
  return [options](CommandContext&) { return run_train(*options); };
}

}  // namespace icl
