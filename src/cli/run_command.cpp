/// `icl-study run CONFIG -o OUT.h5 [--resume] [--force] [--shard I/K] [--threads T] [--progress M]`
///
/// Phases, on every rank: (1) rank 0 validates the config and the output and, with --resume, reads
/// the partial file; every error so far exits 2/3 on all ranks before any work. (2) The training
/// settings the pending points need are split over the ranks by cost; each is trained once, by its
/// owner, and broadcast. (3) The pending points are split over the ranks by the cost model and
/// evaluated (engine.cpp).
#include "study/checkpoints.hpp"
#include "cli/commands.hpp"
#include "study/engine.hpp"
#include "study/provenance.hpp"
#include "study/shard.hpp"
#include "study/study.hpp"
#include "core/covariance.hpp"
#include "core/errors.hpp"
#include "core/predictors.hpp"
#include "evaluation/monte_carlo.hpp"
#include "io/files.hpp"
#include "parallel/bytes.hpp"
#include "parallel/partition.hpp"
#include "parallel/signals.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

namespace icl {
namespace {

struct RunOptions {
  std::string config, output, shard, progress = "auto";
  bool resume = false, force = false;
  int threads = 0;
  double commit_seconds = 2.0;
};

/// Run `body` on rank 0; every rank then learns its exit code (0 when it succeeded). Errors are
/// printed by rank 0 only, so the user sees one line.
int on_rank0_then_share(const Communicator& comm, const std::function<void()>& body) {
  int code = 0;
  if (comm.rank() == 0) {
    try {
      body();
    } catch (const Error& e) {
      std::cerr << "icl-study: " << one_line(e.what()) << '\n';
      code = e.exit_code();
    }
  }
  std::vector<std::uint8_t> bytes(sizeof(int));
  std::memcpy(bytes.data(), &code, sizeof code);
  comm.broadcast(bytes, 0);
  std::memcpy(&code, bytes.data(), sizeof code);
  return code;
}

std::vector<std::uint8_t> encode_model(const ModelRecord& model) {
  ByteWriter w;
  w.put(model.key);
  w.put(model.dim);
  w.put(model.train_length);
  w.put(model.covariance);
  w.put(model.task);
  w.put(model.method);
  w.put(model.model);
  auto put_matrix = [&](const Eigen::MatrixXd& m) {
    w.put<std::int64_t>(m.rows());
    w.put<std::int64_t>(m.cols());
    w.put(std::vector<double>(m.data(), m.data() + m.size()));
  };
  put_matrix(model.value_projection);
  put_matrix(model.key_query);
  w.put(model.loss);
  w.put<std::uint64_t>(model.curves.size());
  for (const auto& [name, curve] : model.curves) {
    w.put(name);
    w.put(curve);
  }
  w.put<std::uint64_t>(model.numbers.size());
  for (const auto& [name, value] : model.numbers) {
    w.put(name);
    w.put(value);
  }
  return std::move(w.bytes());
}

ModelRecord decode_model(const std::vector<std::uint8_t>& bytes) {
  ByteReader r(bytes);
  ModelRecord model;
  model.key = r.get_string();
  model.dim = r.get<std::int64_t>();
  model.train_length = r.get<std::int64_t>();
  model.covariance = r.get_string();
  model.task = r.get_string();
  model.method = r.get_string();
  model.model = r.get_string();
  auto get_matrix = [&] {
    const auto rows = r.get<std::int64_t>(), cols = r.get<std::int64_t>();
    const auto values = r.get_vector<double>();
    return Eigen::MatrixXd(Eigen::Map<const Eigen::MatrixXd>(values.data(), rows, cols));
  };
  model.value_projection = get_matrix();
  model.key_query = get_matrix();
  model.loss = r.get_vector<double>();
  for (auto n = r.get<std::uint64_t>(); n > 0; --n) {
    const std::string name = r.get_string();
    model.curves[name] = r.get_vector<double>();
  }
  for (auto n = r.get<std::uint64_t>(); n > 0; --n) {
    const std::string name = r.get_string();
    model.numbers[name] = r.get<double>();
  }
  return model;
}

/// Rank 0: the result to continue from (a resumed partial or final file, or a fresh one).
/// Takes the output's lock (into `lock`) once the output is known to be writable.
ResultData prepare_result(const Study& study, const RunOptions& options, const std::string& partial,
                          const Shard& shard, std::optional<OutputLock>& lock) {
  check_output_path(options.output, options.resume || options.force,
                    "use --resume to continue it or --force to replace it");
  check_output_path(partial, true, "");
  check_output_folder(options.output);
  // From here on nothing of another run's output may be touched before we own it.
  lock.emplace(options.output, "run " + options.config);
  const bool final_exists = std::filesystem::exists(options.output);
  // Commits killed mid-write (SIGKILL, a node failure) leave their temporary files behind.
  remove_stale_temporaries(options.output);
  remove_stale_temporaries(partial);
  ResultData result;
  const std::string source = std::filesystem::exists(partial) ? partial
                             : final_exists                   ? options.output
                                                              : std::string();
  if (options.resume && !source.empty()) {
    result = read_result_file(source);
    if (result.provenance.config != study.config.text ||
        result.provenance.seed != static_cast<std::int64_t>(study.config.seed))
      throw ConfigError(source +
                        ": was written by another config or seed; --resume needs the same " +
                        study.config.source + " (rename or remove " + source + " to start afresh)");
    if (result.provenance.shard != shard.text())
      throw ConfigError(source + ": holds shard " + result.provenance.shard + ", not " +
                        shard.text());
    if (result.points.size() != study.points.size())
      throw ConfigError(source + ": has " + std::to_string(result.points.size()) +
                        " points, the config " + std::to_string(study.points.size()));
    check_models(result, study, source);
  } else {
    result = empty_result(study, {});
  }
  // The closed forms are a function of the config alone: computed afresh, also on --resume, so
  // a file begun by `train` (or by a run stopped before they were done) ends up with all of them.
  fill_theory(study, result);
  result.provenance.shard = shard.text();
  return result;
}

int run_study(const Communicator& comm, const RunOptions& options) {
  if (options.threads > 0) omp_set_num_threads(options.threads);
  const bool report_progress =
      options.progress == "on" || (options.progress == "auto" && ::isatty(STDERR_FILENO));
  // From here on a stop signal ends training and precomputation at their next checkpoint.
  install_checkpoints(report_progress, "rank " + std::to_string(comm.rank()));
  const std::string partial = options.output + ".partial";

  // (1) Config and output, on rank 0; the text travels to the others.
  std::vector<std::uint8_t> config_bytes;
  std::optional<Study> study;
  ResultData result;
  Shard shard;
  std::optional<OutputLock> lock;  // rank 0 holds it until the run returns
  int code = on_rank0_then_share(comm, [&] {
    shard = Shard::parse(options.shard, "--shard");
    study = expand_study(parse_config_file(options.config));
    if (static_cast<std::size_t>(shard.count) > study->points.size())
      throw ConfigError(
          "--shard: K = " + std::to_string(shard.count) + " shards of a study of " +
          std::to_string(study->points.size()) +
          " points leaves shards empty; expected K <= " + std::to_string(study->points.size()));
    result = prepare_result(*study, options, partial, shard, lock);
    fill_provenance(result.provenance, comm.size(), omp_get_max_threads());
    ByteWriter writer;
    writer.put(study->config.text);
    writer.put(result.points.status);
    config_bytes = std::move(writer.bytes());
  });
  if (code != 0) return code;
  comm.broadcast(config_bytes, 0);
  ByteReader reader(config_bytes);
  const std::string text = reader.get_string();
  const auto status = reader.get_vector<std::uint8_t>();
  if (comm.rank() != 0) {
    study = expand_study(parse_config_text(text, options.config));
    shard = Shard::parse(options.shard, "--shard");
  }
  const auto member = shard_membership(*study, shard);
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < study->points.size(); ++i)
    if (member[i] && status[i] == 0) pending.push_back(i);

  // (2) Training: each needed setting once, on the rank the cost-balanced split names.
  const auto& config = study->config;
  const bool needs_model = needs_trained_models(config);
  std::vector<SettingModel> models(study->settings.size());
  std::vector<std::size_t> to_train;
  if (needs_model) {
    std::vector<bool> needed(study->settings.size(), false);
    for (std::size_t i : pending) needed[study->points[i].setting] = true;
    std::vector<std::uint8_t> have(study->settings.size(), 0);
    if (comm.rank() == 0)
      for (const auto& model : result.models)
        for (std::size_t s = 0; s < study->settings.size(); ++s)
          if (study->settings[s].key == model.key) have[s] = 1;
    comm.broadcast(have, 0);
    for (std::size_t s = 0; s < needed.size(); ++s) {
      if (!needed[s]) continue;
      if (have[s]) {
        // Resumed: the model is in the file; rank 0 sends it to everyone.
        std::vector<std::uint8_t> bytes;
        if (comm.rank() == 0)
          for (const auto& model : result.models)
            if (model.key == study->settings[s].key) bytes = encode_model(model);
        comm.broadcast(bytes, 0);
        models[s] = parameters_of(decode_model(bytes));
      } else {
        to_train.push_back(s);
      }
    }
  }
  std::vector<double> training_costs;
  for (std::size_t s : to_train)
    training_costs.push_back(training_cost(study->settings[s], config.models));
  const auto trainers = balanced_partition(training_costs, comm.size());
  std::map<std::size_t, ModelRecord> trained;
  int my_error = 0;
  std::string my_message;
  for (std::size_t k = 0; k < to_train.size(); ++k) {
    if (trainers[k] != comm.rank() || my_error) continue;
    try {
      install_checkpoints(report_progress, "rank " + std::to_string(comm.rank()) + ", training " +
                                               study->settings[to_train[k]].key);
      trained[k] =
          train_setting(study->settings[to_train[k]], config.training, config.models, config.seed);
      if (report_progress)
        std::fprintf(stderr, "icl-study: rank %d: trained %s (%zu of %zu)\n", comm.rank(),
                     study->settings[to_train[k]].key.c_str(), k + 1, to_train.size());
    } catch (const Error& e) {
      my_error = e.exit_code();
      my_message = e.what();
    } catch (const std::bad_alloc&) {
      my_error = exit_code::io_failure;
      my_message = out_of_memory_message;
    }
  }
  install_checkpoints(report_progress, "rank " + std::to_string(comm.rank()));
  // A failure outranks a stop: the stop keeps what is finished, a failure reports itself.
  const bool stopped = comm.all_max(my_error == exit_code::stopped ? 1 : 0) != 0;
  code = comm.all_max(my_error == exit_code::stopped ? 0 : my_error);
  if (code != 0) {
    const int first =
        comm.all_min(my_error != 0 && my_error != exit_code::stopped ? comm.rank() : comm.size());
    if (comm.rank() == first) std::cerr << "icl-study: " << one_line(my_message) << '\n';
    return code;
  }
  // Every model that finished reaches rank 0 and the partial file, also when a signal stopped
  // the others: --resume then trains only what is missing.
  std::size_t kept = 0;
  for (std::size_t k = 0; k < to_train.size(); ++k) {
    std::vector<std::uint8_t> bytes;
    if (trainers[k] == comm.rank() && trained.count(k)) bytes = encode_model(trained.at(k));
    comm.broadcast(bytes, trainers[k]);
    if (bytes.empty()) continue;  // stopped before this one finished
    ModelRecord model = decode_model(bytes);
    models[to_train[k]] = parameters_of(model);
    if (comm.rank() == 0) result.models.push_back(std::move(model));
    ++kept;
  }
  if (kept > 0 || stopped) {
    code = on_rank0_then_share(comm, [&] { commit_partial(result, partial); });
    if (code != 0) return code;
  }
  if (stopped) {
    if (comm.rank() == 0)
      std::cerr << "icl-study: stopped by signal during training; " << kept << " of "
                << to_train.size() << " models trained now, saved in " << partial
                << " (continue with --resume)\n";
    return exit_code::stopped;
  }

  // (3) Evaluation.
  std::vector<double> costs;
  std::vector<std::uint32_t> chunks;
  for (std::size_t i : pending) {
    costs.push_back(point_cost(*study, study->points[i]));
    chunks.push_back(chunk_count(config.prompts));
  }
  const UnitPlan plan = balanced_units(costs, chunks, comm.size());
  EngineInput input;
  input.study = &*study;
  for (std::size_t k = 0; k < plan.units.size(); ++k)
    if (plan.owners[k] == comm.rank()) {
      WorkUnit unit = plan.units[k];
      unit.item = pending[unit.item];
      input.my_units.push_back(unit);
    }
  input.total_points = pending.size();
  input.models = std::move(models);
  input.result = &result;
  input.partial_path = partial;
  input.final_path = options.output;
  input.commit_interval_seconds = options.commit_seconds;
  input.progress = options.progress == "on"    ? ProgressMode::on
                   : options.progress == "off" ? ProgressMode::off
                                               : ProgressMode::automatic;
  // With nothing left (a finished run resumed) the collector simply rewrites the final file.
  return run_engine(comm, input);
}

}  // namespace

CommandAction register_run_command(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  auto* command =
      app.add_subcommand("run", "Run a study: train, evaluate every grid point, write HDF5");
  command->add_option("config", options->config, "study config (TOML)")->required();
  command->add_option("-o,--output", options->output, "result file (HDF5)")->required();
  command->add_flag("--resume", options->resume,
                    "continue OUT.h5.partial (or OUT.h5) of the same config and seed");
  command->add_flag("--force", options->force, "replace an existing OUT.h5");
  command->add_option("--shard", options->shard, "run only shard I of K (I/K, 0 <= I < K)");
  command
      ->add_option("--threads", options->threads,
                   "OpenMP threads per rank (default: OMP_NUM_THREADS)")
      ->check(CLI::Range(1, 4096));
  command
      ->add_option("--commit-every", options->commit_seconds,
                   "seconds between commits of finished points to OUT.h5.partial")
      ->check(finite_in(0.0, 86400.0))
      ->capture_default_str();
  command->add_option("--progress", options->progress, "progress on stderr: auto, on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  return [options](CommandContext& context) {
    // Before MPI starts: under Slurm the stop signal can come at any moment, even during start-up.
    install_stop_handlers();
    return context.with_world(
        [&](const Communicator& world) { return run_study(world, *options); });
  };
}

}  // namespace icl
