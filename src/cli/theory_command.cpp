#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "core/errors.hpp"
#include "core/grid_point.hpp"
#include "core/predictors.hpp"
#include "study/limits.hpp"

#include <iostream>
#include <memory>
#include <string>

namespace icl {
namespace {

struct TheoryOptions {
  int dim = 0;
  int train_length = 0;
  int test_length = 0;
  std::string covariance = "identity";
  std::string shift = "none";
  std::string task = "linear";
  double noise = 0.0;
  std::uint64_t seed = 1;
};

int run_theory(const TheoryOptions& options) {
  const GridPoint point =
      make_grid_point(options.dim, options.train_length, options.test_length, options.shift,
                      options.covariance, options.task, "lsa", options.seed);
  PromptLaw law = point.test_law(options.seed);
  if (options.noise > 0.0) {
    if (law.noise_std > 0.0)
      throw ConfigError("--noise: the shift '" + options.shift + "' sets the noise already");
    law.noise_std = options.noise;
  }
  const PointModel model(*point.inputs, options.train_length, law, options.test_length);
  write_export_header(std::cout);
  const PointTable table =
      single_point_table(options.dim, options.train_length, options.test_length, options.shift,
                         options.covariance, options.task);
  for (auto predictor : known_predictors()) {
    const auto value = model.theory(predictor);
    if (!value) continue;
    ExportRow row;
    row.points = &table;
    row.predictor = std::string(predictor);
    row.theory = value;
    write_export_row(std::cout, row);
  }
  return 0;
}

}  // namespace

CommandAction register_theory_command(CLI::App& app) {
  auto options = std::make_shared<TheoryOptions>();
  auto* command = app.add_subcommand(
      "theory",
      "Closed-form risks of every predictor that has one, no sampling (export CSV format)");
  command->add_option("--d", options->dim, "input dimension d")
      ->required()
      ->check(CLI::Range(1, limits::max_dim));
  command->add_option("--N", options->train_length, "training prompt length N")
      ->required()
      ->check(CLI::Range(1LL, limits::max_length));
  command->add_option("--M", options->test_length, "test prompt length M")
      ->required()
      ->check(CLI::Range(1LL, limits::max_length));
  command
      ->add_option("--covariance", options->covariance,
                   "covariance spec: identity, diag:l1,...,ld, power:a, toeplitz:r, "
                   "rotated:<spec>, random-exp")
      ->capture_default_str();
  command->add_option("--shift", options->shift, "test-time shift (see `icl-study shifts`)")
      ->capture_default_str();
  command
      ->add_option("--task", options->task,
                   "task: linear, sparse:k, quadratic, relu, tanh, relu-2nn:h [+noise=s]")
      ->capture_default_str();
  command->add_option("--noise", options->noise, "label noise standard deviation s")
      ->check(finite_in(0.0, 1e6))
      ->capture_default_str();
  command->add_option("--seed", options->seed, "master seed (fixes rotated: covariances)")
      ->capture_default_str();
  return [options](CommandContext&) { return run_theory(*options); };
}

CommandAction register_shifts_command(CLI::App& app) {
  app.add_subcommand("shifts", "List the test-time shifts with their definitions");
  return [](CommandContext&) {
    for (const auto& entry : shift_catalogue())
      std::cout << entry.syntax << " [" << to_string(entry.family) << "]\n    " << entry.definition
                << '\n';
    return 0;
  };
}

}  // namespace icl
