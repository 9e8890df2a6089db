/// `icl-study select FILE.h5 [--by validation]`: the candidates of a training sweep ranked by
/// validation loss, per group of models (src/study/selection.hpp), as CSV on stdout.
#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "core/errors.hpp"
#include "io/result_file.hpp"
#include "study/selection.hpp"

#include <iostream>
#include <memory>

namespace icl {
namespace {

int run_select(const std::string& path, const std::string& by) {
  if (by != "validation")
    throw ConfigError("--by: expected validation, got '" + by + "' (test risk never selects)");
  const ResultData data = read_result_file(path);
  const auto candidates = rank_candidates(data, path);
  std::cout << "d,N,covariance,task,model,training,replicates,validation_loss,validation_spread,"
               "validation_stderr,rank,selected,eliminated_at_steps\n";
  for (const auto& c : candidates)
    std::cout << c.dim << ',' << c.train_length << ',' << csv_field(c.covariance) << ','
              << csv_field(c.task) << ',' << csv_field(c.model) << ',' << csv_field(c.training)
              << ',' << c.replicates << ',' << csv_number(c.validation_loss) << ','
              << csv_number(c.validation_spread) << ',' << csv_number(c.validation_stderr) << ','
              << c.rank << ',' << (c.selected() ? 1 : 0) << ','
              << (c.eliminated_at_steps ? std::to_string(c.eliminated_at_steps) : std::string())
              << '\n';
  return 0;
}

}  // namespace

CommandAction register_select_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto by = std::make_shared<std::string>("validation");
  auto* command = app.add_subcommand(
      "select", "Rank the variants of a training sweep by validation loss (CSV to stdout)");
  command->add_option("file", *path, "result file (HDF5)")->required();
  command->add_option("--by", *by, "selection criterion: validation")->capture_default_str();
  return [path, by](CommandContext&) { return run_select(*path, *by); };
}

}  // namespace icl
