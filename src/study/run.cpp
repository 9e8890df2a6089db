#include "study/run.hpp"

#include "core/errors.hpp"
#include "evaluation/monte_carlo.hpp"
#include "io/files.hpp"
#include "parallel/bytes.hpp"
#include "parallel/partition.hpp"
#include "study/checkpoints.hpp"
#include "study/engine.hpp"
#include "study/halving.hpp"
#include "study/provenance.hpp"
#include "study/shard.hpp"
#include "study/study.hpp"
#include "training/rung_training.hpp"

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
  put_matrix(model.input_covariance);
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
  model.input_covariance = get_matrix();
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
  /// Rank 0: the seal of the partial file while it holds exactly `result` (the engine then
  /// journals onto it instead of writing it again); reset by any change not committed.
  std::optional<SealIdentity> snapshot;
  double snapshot_seconds = 0;  ///< rank 0: time in those writes (reported with the engine's)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
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

/// One piece of the training phase: a setting's whole run (until == 0), or its run to step
/// `until` continued from `earlier` (successive halving's rungs).
struct TrainingJob {
  std::size_t setting = 0;
  std::uint32_t until = 0;
  const ModelRecord* earlier = nullptr;  ///< the record of its last rung (every rank has it)
  double cost = 0;                       ///< the cost model's seconds
};

/// Rank 0: write the partial file whole (after training, after a rung), timed.
void snapshot(RunState& run) {
  const auto start = std::chrono::steady_clock::now();
  run.snapshot = commit_partial(run.result, run.partial);
  run.snapshot_seconds += seconds_since(start);
}

/// Rank 0 keeps one record per key: a rung's record replaces the last.
void keep_record(ResultData& result, ModelRecord record) {
  for (auto& model : result.models)
    if (model.key == record.key) {
      model = std::move(record);
      return;
    }
  result.models.push_back(std::move(record));
}

/// Train `jobs` on the ranks the cost-balanced split names; every finished record reaches every
/// rank (`done[k]`, empty where a stop came first) and rank 0's partial file. Returns 0 or the
/// exit code (75 after a stop, with what finished committed).
int train_jobs(const Communicator& comm, RunState& run, const std::vector<TrainingJob>& jobs,
               std::vector<std::optional<ModelRecord>>& done) {
  const auto& study = run.study;
  const auto& config = study->config;
  const bool report_progress = run.report_progress;
  std::vector<double> costs;
  for (const auto& job : jobs) costs.push_back(job.cost);
  const auto trainers = balanced_partition(costs, comm.size());
  std::map<std::size_t, ModelRecord> trained;
  double my_cost_total = 0, my_cost_done = 0;
  for (std::size_t k = 0; k < jobs.size(); ++k)
    if (trainers[k] == comm.rank()) my_cost_total += costs[k];
  const auto training_start = std::chrono::steady_clock::now();
  int my_error = 0;
  std::string my_message;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    if (trainers[k] != comm.rank() || my_error) continue;
    try {
      const TrainingJob& job = jobs[k];
      const TrainingSetting& setting = study->settings[job.setting];
      install_checkpoints(report_progress,
                          "rank " + std::to_string(comm.rank()) + ", training " + setting.key);
      const auto& training = training_of(config, setting);
      const auto& models = models_of(config, setting);
      const auto validation = config.sweep.validation_prompts;
      trained[k] = job.until == 0
                       ? train_setting(setting, training, models, config.seed, validation)
                       : train_setting_to(setting, training, models, config.seed, validation,
                                          job.until, job.earlier);
      if (report_progress) {
        // This rank's ETA by the cost model: its remaining jobs at the pace so far.
        my_cost_done += costs[k];
        const double elapsed = seconds_since(training_start);
        const double eta = elapsed * (my_cost_total - my_cost_done) / my_cost_done;
        std::fprintf(stderr, "icl-study: rank %d: trained %s%s (%zu of %zu), training ETA %.0f s\n",
                     comm.rank(), setting.key.c_str(),
                     job.until ? (" to step " + std::to_string(job.until)).c_str() : "", k + 1,
                     jobs.size(), eta);
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
  done.assign(jobs.size(), std::nullopt);
  std::size_t kept = 0;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    std::vector<std::uint8_t> bytes;
    if (trainers[k] == comm.rank() && trained.count(k)) bytes = encode_model(trained.at(k));
    comm.broadcast(bytes, trainers[k]);
    if (bytes.empty()) continue;  // stopped before this one finished
    done[k] = decode_model(bytes);
    if (comm.rank() == 0) keep_record(run.result, *done[k]);
    ++kept;
  }
  if (kept > 0 || stopped) {
    code = on_rank0_then_share(comm, [&] { snapshot(run); });
    if (code != 0) return code;
  }
  if (stopped) {
    if (comm.rank() == 0)
      std::cerr << "icl-study: stopped by signal during training; " << kept << " of " << jobs.size()
                << " models trained now, saved in " << run.partial << " (continue with --resume)\n";
    return exit_code::stopped;
  }
  return 0;
}

/// The validation loss of a record at its rung of `budget` steps (recorded when it got there).
double rung_loss(const ModelRecord& model, std::uint32_t budget) {
  const auto steps = model.curves.find("rung_steps");
  const auto losses = model.curves.find("rung_validation_loss");
  if (steps != model.curves.end() && losses != model.curves.end())
    for (std::size_t k = 0; k < steps->second.size() && k < losses->second.size(); ++k)
      if (steps->second[k] == budget) return losses->second[k];
  throw ConfigError("model " + model.key + " was trained past step " + std::to_string(budget) +
                    " without a validation loss there (damaged file?)");
}

/// Successive halving over the needed settings' groups: rung by rung, the candidates still in
/// train to the rung's budget (continuing from their records), then each group keeps the best
/// 1/eta of its variants. Records of rungs a resumed file already holds are not trained again:
/// their recorded losses make the same choices. `records` holds, on every rank, the file's
/// record of each setting; `eliminated` gets the settings dropped.
int halving_phase(const Communicator& comm, RunState& run, std::vector<std::size_t> alive,
                  std::vector<std::optional<ModelRecord>>& records, std::vector<bool>& eliminated) {
  const auto& study = *run.study;
  const auto& sweep = study.config.sweep;
  const auto budgets = halving_budgets(sweep);
  for (std::size_t r = 0; r < budgets.size(); ++r) {
    std::map<std::size_t, double> losses;
    std::vector<TrainingJob> jobs;
    for (std::size_t s : alive) {
      const auto& record = records[s];
      if (record && trained_steps(*record) >= budgets[r]) {
        losses[s] = rung_loss(*record, budgets[r]);
        continue;
      }
      const TrainingSetting& setting = study.settings[s];
      const auto& models = models_of(study.config, setting);
      const double whole = training_cost(setting, models);
      const std::uint32_t from = record ? trained_steps(*record) : 0;
      jobs.push_back({s, budgets[r], record ? &*record : nullptr,
                      whole * (budgets[r] - from) / sweep.max_steps});
    }
    if (run.report_progress && comm.rank() == 0)
      std::fprintf(stderr, "icl-study: halving rung %zu of %zu: %zu candidates to step %u\n", r + 1,
                   budgets.size(), alive.size(), budgets[r]);
    if (!jobs.empty()) {
      std::vector<std::optional<ModelRecord>> done;
      if (const int code = train_jobs(comm, run, jobs, done); code != 0) return code;
      for (std::size_t k = 0; k < jobs.size(); ++k) {
        records[jobs[k].setting] = std::move(done[k]);
        losses[jobs[k].setting] = records[jobs[k].setting]->numbers.at("validation_loss");
      }
    }
    // The last rung halves nothing (eta 1), but a candidate that diverged there is dropped too.
    const bool last = r + 1 == budgets.size();
    const auto survivors = halving_survivors(study, alive, losses, last ? 1 : sweep.eta);
    bool marked = false;
    for (std::size_t s : alive) {
      if (std::binary_search(survivors.begin(), survivors.end(), s)) continue;
      eliminated[s] = true;
      ModelRecord& record = *records[s];
      if (record.numbers.count("eliminated_at_steps")) continue;
      // Dropped here: it keeps its weights and curves, not the optimiser state.
      record.numbers["eliminated_at_steps"] = budgets[r];
      drop_training_state(record);
      if (comm.rank() == 0) keep_record(run.result, record);
      marked = true;
    }
    if (marked)
      if (const int code = on_rank0_then_share(comm, [&] { snapshot(run); }); code != 0)
        return code;
    alive = survivors;
    if (last) break;
  }
  return 0;
}

/// (2) Training: each needed setting once, on the rank the cost-balanced split names (or, for
/// successive halving, rung by rung); the points of settings halving drops are not evaluated.
int training_phase(const Communicator& comm, RunState& run, std::vector<SettingModel>& models) {
  const auto& study = run.study;
  const auto& config = study->config;
  models.assign(study->settings.size(), SettingModel());
  if (!needs_trained_models(config)) return 0;
  std::vector<bool> is_needed(study->settings.size(), false);
  for (std::size_t i : run.pending) is_needed[study->points[i].setting] = true;
  std::vector<std::size_t> needed;
  for (std::size_t s = 0; s < is_needed.size(); ++s)
    if (is_needed[s]) needed.push_back(s);
  // A shard trains whole groups under halving, so that every shard makes the same choices.
  const std::vector<std::size_t> candidates =
      config.sweep.halving ? whole_groups(*study, needed) : needed;
  // The file's records of these settings, on every rank (a resumed run continues from them).
  std::vector<std::optional<ModelRecord>> records(study->settings.size());
  for (std::size_t s : candidates) {
    std::vector<std::uint8_t> bytes;
    if (comm.rank() == 0)
      for (const auto& model : run.result.models)
        if (model.key == study->settings[s].key) bytes = encode_model(model);
    comm.broadcast(bytes, 0);
    if (!bytes.empty()) records[s] = decode_model(bytes);
  }
  std::vector<TrainingJob> whole;
  std::vector<std::size_t> halved;
  for (std::size_t s : candidates) {
    const TrainingSetting& setting = study->settings[s];
    if (config.sweep.halving && trains_in_steps(setting, training_of(config, setting)))
      halved.push_back(s);
    else if (is_needed[s] && !records[s])
      whole.push_back({s, 0, nullptr, training_cost(setting, models_of(config, setting))});
  }
  if (!whole.empty()) {
    std::vector<std::optional<ModelRecord>> done;
    if (const int code = train_jobs(comm, run, whole, done); code != 0) return code;
    for (std::size_t k = 0; k < whole.size(); ++k) records[whole[k].setting] = std::move(done[k]);
  }
  std::vector<bool> eliminated(study->settings.size(), false);
  if (!halved.empty())
    if (const int code = halving_phase(comm, run, halved, records, eliminated); code != 0)
      return code;
  for (std::size_t s : needed)
    if (!eliminated[s]) models[s] = parameters_of(*records[s]);
  // Points of dropped candidates are done with: status 2, never evaluated.
  std::vector<std::size_t> evaluated;
  for (std::size_t i : run.pending) {
    if (!eliminated[study->points[i].setting]) {
      evaluated.push_back(i);
    } else if (comm.rank() == 0) {
      run.result.points.status[i] = point_status::eliminated;
      run.snapshot.reset();
    }
  }
  run.pending = std::move(evaluated);
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
  input.snapshot = run.snapshot;
  input.earlier_write_seconds = run.snapshot_seconds;
  input.earlier_seconds = seconds_since(run.started);
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
