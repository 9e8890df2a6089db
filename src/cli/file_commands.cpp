/// Commands on result files: `merge`, `info`, `export`.
#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "core/errors.hpp"
#include "core/parse.hpp"
#include "evaluation/statistics.hpp"
#include "io/files.hpp"
#include "io/result_file.hpp"
#include "study/provenance.hpp"
#include "study/selection.hpp"
#include "study/shard.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>

namespace icl {
namespace {

int run_export(const std::string& path, const std::string& format, bool selected_only) {
  if (format != "csv") throw ConfigError("--format: expected csv, got '" + format + "'");
  const ResultData data = read_result_file(path);
  // --selected: the points of each group's winning variant (by validation loss), all replicates.
  const auto selected =
      selected_only ? selected_model_keys(rank_candidates(data, path)) : std::set<std::string>();
  write_export_header(std::cout);
  for (std::size_t i = 0; i < data.points.size(); ++i) {
    if (selected_only && !selected.count(data.points.model_key[i])) continue;
    // Points of candidates successive halving dropped have no results, and never will.
    if (data.points.status[i] == point_status::eliminated) continue;
    for (const auto& columns : data.predictors) {
      // A predictor the point's [grid] block does not evaluate: no row.
      if (data.points.status[i] == point_status::done && columns.prompts[i] == 0) continue;
      ExportRow row;
      row.points = &data.points;
      row.row = i;
      row.predictor = columns.name;
      if (data.points.status[i] == 1) {
        row.risk = columns.risk[i];
        row.standard_error = columns.standard_error[i];
        row.prompts = columns.prompts[i];
      }
      if (std::isfinite(columns.theory[i])) row.theory = columns.theory[i];
      write_export_row(std::cout, row);
    }
  }
  return 0;
}

int run_info(const std::string& path) {
  const ResultData data = read_result_file(path);
  const auto& p = data.provenance;
  std::size_t done = 0, eliminated = 0;
  for (auto s : data.points.status) {
    done += s == point_status::done;
    eliminated += s == point_status::eliminated;
  }
  std::cout << path << "\n  study " << p.study << ", seed " << p.seed << ", shard " << p.shard
            << "\n  written by " << p.program << ' ' << p.version << " (commit " << p.git_commit
            << ") on " << p.hostname << " at " << p.created << "\n  " << p.mpi_ranks
            << " MPI ranks x " << p.omp_threads << " OpenMP threads; rng " << p.rng << '\n';
  for (const auto& [key, value] : p.slurm) std::cout << "  " << key << " = " << value << '\n';
  std::cout << "  points: " << done << " of " << data.points.size() << " done"
            << (eliminated ? ", " + std::to_string(eliminated) +
                                 " not evaluated (their models were dropped by successive halving)"
                           : std::string())
            << (done + eliminated == data.points.size() ? " (complete)"
                                                        : " (incomplete: continue with --resume)")
            << "\n  models: " << data.models.size() << '\n';
  std::printf("  %-12s %8s %10s %10s %8s %13s %8s\n", "predictor", "points", "mean |z|", "max |z|",
              "|z| > 4", "heavy-tailed", "|z| > 4");
  std::size_t heavy_total = 0, heavy_flagged_total = 0;
  double prompts_needed = 0;
  for (const auto& columns : data.predictors) {
    std::size_t with_theory = 0, flagged = 0, heavy = 0, heavy_flagged = 0;
    double sum = 0, worst = 0;
    for (std::size_t i = 0; i < data.points.size(); ++i) {
      // A theory of exactly 0 (noise-free OLS with M >= d) leaves only rounding: no z-score.
      if (data.points.status[i] != 1 || !std::isfinite(columns.theory[i]) || columns.theory[i] == 0)
        continue;
      const double se = columns.standard_error[i];
      if (!(se > 0)) continue;
      const double z = std::abs(columns.risk[i] - columns.theory[i]) / se;
      // Fewer prompts than Cochran's rule asks for this skewness: the standard error understates
      // the uncertainty, so the z-score is explained, not counted as a disagreement.
      const double needed = minimum_prompts(columns.skewness[i]);
      if (static_cast<double>(columns.prompts[i]) < needed) {
        ++heavy;
        heavy_flagged += z > 4;
        prompts_needed = std::max(prompts_needed, needed);
        continue;
      }
      ++with_theory;
      sum += z;
      worst = std::max(worst, z);
      flagged += z > 4;
    }
    heavy_total += heavy;
    heavy_flagged_total += heavy_flagged;
    if (with_theory > 0)
      std::printf("  %-12s %8zu %10.3f %10.3f %8zu %13zu %8zu\n", columns.name.c_str(), with_theory,
                  sum / with_theory, worst, flagged, heavy, heavy_flagged);
    else if (heavy > 0)
      std::printf("  %-12s %8s %10s %10s %8s %13zu %8zu\n", columns.name.c_str(), "-", "-", "-",
                  "-", heavy, heavy_flagged);
    else
      std::printf("  %-12s %8s %10s %10s %8s %13s %8s\n", columns.name.c_str(), "-", "no theory",
                  "-", "-", "-", "-");
  }
  if (heavy_total > 0)
    std::printf(
        "  %zu estimates are heavy-tailed: fewer prompts than 25 x skewness^2 of their squared "
        "errors "
        "(Cochran's rule), so their standard errors understate the uncertainty and their z-scores "
        "are not judged (%zu of them have |z| > 4); at least %.0f prompts per point would serve "
        "them all\n",
        heavy_total, heavy_flagged_total, std::ceil(prompts_needed));
  return 0;
}

int run_merge(const std::vector<std::string>& inputs, const std::string& output, bool force) {
  check_output_path(output, force, "use --force to replace it");
  check_output_folder(output);
  const OutputLock lock(output, "merge");
  remove_stale_temporaries(output);  // of merges killed mid-write
  std::vector<ResultData> shards;
  for (const auto& path : inputs) shards.push_back(read_result_file(path));
  const ResultData& first = shards.front();
  int count = -1;
  std::map<int, std::string> seen;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const auto& s = shards[k];
    if (s.provenance.config != first.provenance.config ||
        s.provenance.seed != first.provenance.seed)
      throw ConfigError(inputs[k] + ": belongs to another study than " + inputs[0] +
                        " (config or seed differ)");
    const Shard shard = Shard::parse(s.provenance.shard, inputs[k] + ": shard attribute");
    const int index = shard.index, total = shard.count;
    if (count < 0) count = total;
    if (total != count)
      throw ConfigError(inputs[k] + ": is shard " + s.provenance.shard + " of " +
                        std::to_string(total) + ", the others of " + std::to_string(count));
    if (seen.count(index))
      throw ConfigError(inputs[k] + ": duplicate of shard " + std::to_string(index) + " (also " +
                        seen[index] + ")");
    seen[index] = inputs[k];
  }
  std::vector<std::string> missing;
  for (int i = 0; i < count; ++i)
    if (!seen.count(i)) missing.push_back(std::to_string(i));
  if (!missing.empty())
    throw ConfigError("merge: missing shard(s) " + join(missing, ", ") + " of " +
                      std::to_string(count));

  ResultData merged = first;
  std::fill(merged.points.status.begin(), merged.points.status.end(), 0);
  std::map<std::string, const ModelRecord*> models;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const auto& s = shards[k];
    for (std::size_t i = 0; i < s.points.size(); ++i) {
      if (s.points.status[i] == point_status::pending) continue;
      if (merged.points.status[i] != point_status::pending)
        throw ConfigError(inputs[k] + ": point " + std::to_string(i) + " is also in another shard");
      merged.points.status[i] = s.points.status[i];
      merged.points.seconds[i] = s.points.seconds[i];
      for (std::size_t p = 0; p < merged.predictors.size(); ++p)
        merged.predictors[p].copy_estimate(i, s.predictors[p]);
    }
    for (const auto& model : s.models) models.emplace(model.key, &model);
  }
  for (std::size_t i = 0; i < merged.points.size(); ++i)
    if (merged.points.status[i] == point_status::pending)
      throw ConfigError(
          "merge: point " + std::to_string(i) +
          " is pending in every shard (an unfinished shard? continue it with --resume)");
  merged.models.clear();
  for (const auto& [key, model] : models) merged.models.push_back(*model);
  fill_provenance(merged.provenance, static_cast<int>(first.provenance.mpi_ranks),
                  static_cast<int>(first.provenance.omp_threads));
  merged.provenance.shard = "0/1";
  write_result_file(output, merged);
  std::cerr << "merged " << shards.size() << " shards into " << output << '\n';
  return 0;
}

}  // namespace

CommandAction register_export_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("csv");
  auto selected = std::make_shared<bool>(false);
  auto* command = app.add_subcommand("export", "One row per (point, predictor) to stdout");
  command->add_option("file", *path, "result file (HDF5)")->required();
  command->add_option("--format", *format, "output format (csv)")->capture_default_str();
  command->add_flag("--selected", *selected,
                    "only the points of each sweep group's winner by validation loss "
                    "(icl-study select)");
  return
      [path, format, selected](CommandContext&) { return run_export(*path, *format, *selected); };
}

CommandAction register_info_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* command = app.add_subcommand("info", "Provenance, completeness, per-predictor summary");
  command->add_option("file", *path, "result file (HDF5)")->required();
  return [path](CommandContext&) { return run_info(*path); };
}

CommandAction register_merge_command(CLI::App& app) {
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto* command = app.add_subcommand("merge", "Combine the shard files of one study");
  command->add_option("shards", *inputs, "shard files")->required();
  command->add_option("-o,--output", *output, "merged result file")->required();
  command->add_flag("--force", *force, "replace an existing output file");
  return [inputs, output, force](CommandContext&) { return run_merge(*inputs, *output, *force); };
}

}  // namespace icl
