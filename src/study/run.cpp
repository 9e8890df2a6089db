#include "study/run.hpp"

#include "core/errors.hpp"
#include "evaluation/monte_carlo.hpp"
#include "io/files.hpp"
#include "parallel/bytes.hpp"
#include "parallel/partition.hpp"
#include "study/checkpoints.hpp"
#include "study/engine.hpp"
#include "study/provenance.hpp"
#include "study/shard.hpp"
#include "study/study.hpp"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

namespace icl {
namespace {

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
  w.put<std::uint64_t>(model.texts.size());
  for (const auto& [name, text] : model.texts) {
    w.put(name);
    w.put(text);
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
  for (auto n = r.get<std::uint64_t>(); n > 0; --n) {
    const std::string name = r.get_string();
    model.texts[name] = r.get_string();
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

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// What the phases share, on every rank.
struct RunState {
  std::optional<Study> study;
  ResultData result;                 ///< rank 0: the file's contents
  std::optional<OutputLock> lock;    ///< rank 0 holds the output's lock until the run returns
  std::vector<std::size_t> pending;  ///< this shard's points still to evaluate
  std::string partial;               ///< OUT.h5.partial
  bool report_progress = false;
};

/// (1) Config and output, on rank 0; the config text and the points' status travel to the others.
int prepare_phase(const Communicator& comm, const RunOptions& options, RunState& run) {
  std::vector<std::uint8_t> config_bytes;
  auto& study = run.study;
  ResultData& result = run.result;
  Shard shard;
  const int code = on_rank0_then_share(comm, [&] {
    shard = Shard::parse(options.shard, "--shard");
    study = expand_study(parse_config_file(options.config, options.overrides));
    if (static_cast<std::size_t>(shard.count) > study->points.size())
      throw ConfigError(
          "--shard: K = " + std::to_string(shard.count) + " shards of a study of " +
          std::to_string(study->points.size()) +
          " points leaves shards empty; expected K <= " + std::to_string(study->points.size()));
    result = prepare_result(*study, options, run.partial, shard, run.lock);
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
  for (std::size_t i = 0; i < study->points.size(); ++i)
    if (member[i] && status[i] == 0) run.pending.push_back(i);
  return 0;
}

/// (2) Training: each needed setting once, on the rank the cost-balanced split names.
int training_phase(const Communicator& comm, RunState& run, std::vector<SettingModel>& models) {
  const auto& study = run.study;
  ResultData& result = run.result;
  const auto& pending = run.pending;
  const std::string& partial = run.partial;
  const bool report_progress = run.report_progress;
  const auto& config = study->config;
  const bool needs_model = needs_trained_models(config);
  models.assign(study->settings.size(), SettingModel());
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
    training_costs.push_back(
        training_cost(study->settings[s], models_of(config, study->settings[s])));
  const auto trainers = balanced_partition(training_costs, comm.size());
  std::map<std::size_t, ModelRecord> trained;
  double my_cost_total = 0, my_cost_done = 0;
  for (std::size_t k = 0; k < to_train.size(); ++k)
    if (trainers[k] == comm.rank()) my_cost_total += training_costs[k];
  const auto training_start = std::chrono::steady_clock::now();
  int my_error = 0;
  std::string my_message;
  for (std::size_t k = 0; k < to_train.size(); ++k) {
    if (trainers[k] != comm.rank() || my_error) continue;
    try {
      const TrainingSetting& setting = study->settings[to_train[k]];
      install_checkpoints(report_progress,
                          "rank " + std::to_string(comm.rank()) + ", training " + setting.key);
      trained[k] = train_setting(setting, training_of(config, setting), models_of(config, setting),
                                 config.seed, config.sweep.validation_prompts);
      if (report_progress) {
        // This rank's ETA by the cost model: its remaining settings at the pace so far.
        my_cost_done += training_costs[k];
        const double elapsed = seconds_since(training_start);
        const double eta = elapsed * (my_cost_total - my_cost_done) / my_cost_done;
        std::fprintf(stderr, "icl-study: rank %d: trained %s (%zu of %zu), training ETA %.0f s\n",
                     comm.rank(), setting.key.c_str(), k + 1, to_train.size(), eta);
      }
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
  int code = comm.all_max(my_error == exit_code::stopped ? 0 : my_error);
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
  return 0;
}

/// (3) Evaluation of the pending points by the engine.
int evaluation_phase(const Communicator& comm, const RunOptions& options, RunState& run,
                     std::vector<SettingModel> models) {
  const auto& study = run.study;
  const auto& pending = run.pending;
  const UnitPlan plan = plan_work(*study, pending, comm.size());
  EngineInput input;
  input.study = &*study;
  for (std::size_t k = 0; k < plan.units.size(); ++k)
    if (plan.owners[k] == comm.rank()) input.my_units.push_back(plan.units[k]);
  input.total_points = pending.size();
  if (comm.rank() == 0)  // the collector's ETA: the same cost model as the file's column
    for (std::size_t i : pending) input.total_cost += run.result.points.estimated_seconds[i];
  input.models = std::move(models);
  input.result = &run.result;
  input.partial_path = run.partial;
  input.final_path = options.output;
  input.commit_interval_seconds = options.commit_seconds;
  input.progress = options.progress == "on"    ? ProgressMode::on
                   : options.progress == "off" ? ProgressMode::off
                                               : ProgressMode::automatic;
  // With nothing left (a finished run resumed) the collector simply rewrites the final file.
  return run_engine(comm, input);
}

}  // namespace

int run_study(const Communicator& comm, const RunOptions& options) {
  if (options.threads > 0) omp_set_num_threads(options.threads);
  RunState run;
  run.report_progress =
      options.progress == "on" || (options.progress == "auto" && ::isatty(STDERR_FILENO));
  // From here on a stop signal ends training and precomputation at their next checkpoint.
  install_checkpoints(run.report_progress, "rank " + std::to_string(comm.rank()));
  run.partial = options.output + ".partial";
  if (const int code = prepare_phase(comm, options, run); code != 0) return code;
  std::vector<SettingModel> models;
  if (const int code = training_phase(comm, run, models); code != 0) return code;
  return evaluation_phase(comm, options, run, std::move(models));
}

}  // namespace icl
