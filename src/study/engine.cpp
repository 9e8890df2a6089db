#include "study/engine.hpp"

#include "core/errors.hpp"
#include "evaluation/point_evaluation.hpp"
#include "io/result_journal.hpp"
#include "parallel/bytes.hpp"
#include "parallel/signals.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

namespace icl {
namespace {

enum Tag : int { result_tag = 1, done_tag = 2, stop_tag = 3, error_tag = 4, final_tag = 5 };

using Clock = std::chrono::steady_clock;

/// The statistics of one work unit: some chunks of one point.
struct UnitOutcome {
  WorkUnit unit;
  ChunkStatistics chunks;
  double seconds = 0;
};

/// This rank's share of a point: the chunks of one work unit.
std::optional<UnitOutcome> evaluate(const Study& study, const WorkUnit& unit,
                                    const std::vector<SettingModel>& models,
                                    const std::function<bool()>& interrupted) {
  const auto start = Clock::now();
  const auto& config = study.config;
  const GridPoint& point = study.points[unit.item];
  auto chunks = evaluate_point(point, &models[point.setting], config.predictors, config.seed,
                               config.prompts, unit.first_chunk, unit.chunks, interrupted);
  if (!chunks) return std::nullopt;
  return UnitOutcome{unit, std::move(*chunks),
                     std::chrono::duration<double>(Clock::now() - start).count()};
}

std::vector<std::uint8_t> encode_result(const UnitOutcome& outcome) {
  ByteWriter writer;
  writer.put<std::uint64_t>(outcome.unit.item);
  writer.put<std::uint32_t>(outcome.unit.first_chunk);
  writer.put<std::uint32_t>(outcome.unit.chunks);
  writer.put(outcome.seconds);
  writer.put<std::uint64_t>(outcome.chunks.empty() ? 0 : outcome.chunks.front().size());
  for (const auto& chunk : outcome.chunks)
    for (const auto& s : chunk) {
      writer.put(s.count);
      writer.put(s.mean);
      writer.put(s.sum_squared_deviations);
      writer.put(s.sum_cubed_deviations);
      writer.put(s.sum_fourth_deviations);
    }
  return std::move(writer.bytes());
}

UnitOutcome decode_result(const std::vector<std::uint8_t>& bytes) {
  ByteReader reader(bytes);
  UnitOutcome outcome;
  outcome.unit.item = reader.get<std::uint64_t>();
  outcome.unit.first_chunk = reader.get<std::uint32_t>();
  outcome.unit.chunks = reader.get<std::uint32_t>();
  outcome.seconds = reader.get<double>();
  const auto predictors = reader.get<std::uint64_t>();
  outcome.chunks.assign(outcome.unit.chunks, std::vector<RunningStatistics>(predictors));
  for (auto& chunk : outcome.chunks)
    for (auto& s : chunk) {
      s.count = reader.get<std::uint64_t>();
      s.mean = reader.get<double>();
      s.sum_squared_deviations = reader.get<double>();
      s.sum_cubed_deviations = reader.get<double>();
      s.sum_fourth_deviations = reader.get<double>();
    }
  return outcome;
}

std::vector<std::uint8_t> encode_code(int code, const std::string& message = {}) {
  ByteWriter writer;
  writer.put<std::int32_t>(code);
  writer.put(message);
  return std::move(writer.bytes());
}

std::pair<int, std::string> decode_code(const std::vector<std::uint8_t>& bytes) {
  ByteReader reader(bytes);
  const int code = reader.get<std::int32_t>();
  return {code, reader.get_string()};
}

void sleep_briefly() {
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

/// Rank 0's store of finished work: a unit's chunks wait until all chunks of their point are in,
/// then fold (in chunk order, so the bits do not depend on who evaluated which chunk) into the
/// point's columns of the result.
class PointStore {
 public:
  PointStore(ResultData& result, std::uint32_t prompts)
      : result_(result), prompts_(prompts), chunks_per_point_(chunk_count(prompts)) {}

  /// True when the unit completed its point.
  bool store(UnitOutcome&& outcome) {
    const std::size_t point = outcome.unit.item;
    auto& pending = pending_[point];
    if (pending.chunks.empty()) pending.chunks.resize(chunks_per_point_);
    for (std::uint32_t k = 0; k < outcome.unit.chunks; ++k)
      pending.chunks[outcome.unit.first_chunk + k] = std::move(outcome.chunks[k]);
    pending.received += outcome.unit.chunks;
    pending.seconds += outcome.seconds;
    if (pending.received < chunks_per_point_) return false;

    const auto statistics = fold_chunks(pending.chunks, result_.predictors.size());
    for (std::size_t p = 0; p < statistics.size(); ++p) {
      auto& columns = result_.predictors[p];
      const auto& s = statistics[p];
      // A predictor the point's block does not evaluate: NaN and 0 prompts.
      columns.risk[point] = s.count > 0 ? s.mean : NAN;
      columns.standard_error[point] = s.count > 0 ? s.standard_error() : NAN;
      columns.skewness[point] = s.skewness();
      columns.excess_kurtosis[point] = s.excess_kurtosis();
      columns.prompts[point] = static_cast<std::int64_t>(s.count);
    }
    result_.points.status[point] = 1;
    result_.points.seconds[point] = pending.seconds;
    pending_.erase(point);
    ++points_done_;
    prompts_done_ += prompts_;
    cost_done_ += result_.points.estimated_seconds[point];
    return true;
  }

  std::size_t points_done() const { return points_done_; }
  std::uint64_t prompts_done() const { return prompts_done_; }
  double cost_done() const { return cost_done_; }

 private:
  struct PendingPoint {
    ChunkStatistics chunks;
    std::uint32_t received = 0;
    double seconds = 0;
  };
  ResultData& result_;
  std::uint32_t prompts_, chunks_per_point_;
  std::map<std::size_t, PendingPoint> pending_;  ///< points with some chunks in
  std::size_t points_done_ = 0;
  std::uint64_t prompts_done_ = 0;
  double cost_done_ = 0;  ///< estimated seconds of the points done
};

/// Rank 0's commits, at most every interval, so that a kill loses only the points in flight. The
/// first writes the partial file whole (a sealed snapshot); the others append the points finished
/// since to its journal (result_journal.hpp), so that a commit costs what it adds, whatever the
/// grid's size. The final file is written once, when every point is done.
class Committer {
 public:
  Committer(const EngineInput& input) : input_(input), last_(Clock::now()) {}

  /// Open the journal on the snapshot written just before the engine, if there is one.
  void start() {
    if (input_.snapshot)
      snapshot_seconds_ +=
          timed([&] { journal_.emplace(input_.partial_path, *input_.snapshot, *input_.result); });
  }

  void point_done(std::size_t point) { finished_.push_back(point); }
  void commit_if_due() {
    if (!finished_.empty() &&
        Clock::now() - last_ >= std::chrono::duration<double>(input_.commit_interval_seconds))
      commit();
  }
  void commit() {
    if (!journal_) {
      snapshot_seconds_ += timed([&] {
        const SealIdentity seal = icl::commit_partial(*input_.result, input_.partial_path);
        journal_.emplace(input_.partial_path, seal, *input_.result);
      });
    } else if (!finished_.empty()) {
      journal_seconds_.push_back(timed([&] { journal_->append(*input_.result, finished_); }));
    }
    finished_.clear();
    last_ = Clock::now();
  }
  void write_final() {
    final_seconds_ = timed([&] { write_result_file(input_.final_path, *input_.result); });
    journal_.reset();
    std::error_code ignored;
    std::filesystem::remove(input_.partial_path, ignored);
    std::filesystem::remove(journal_path(input_.partial_path), ignored);
  }
  /// All of rank 0's time in writes.
  double seconds() const {
    double total = snapshot_seconds_ + final_seconds_;
    for (double s : journal_seconds_) total += s;
    return total;
  }
  /// "snapshot 0.52 s, 31 journal commits (median 1.2 ms, max 3.4 ms), final file 0.61 s".
  std::string breakdown() const {
    std::vector<double> sorted = journal_seconds_;
    std::sort(sorted.begin(), sorted.end());
    char text[200];
    std::snprintf(text, sizeof text,
                  "snapshot during evaluation %.3f s, %zu journal commits (median %.2f ms, max "
                  "%.2f ms), final "
                  "file %.3f s",
                  snapshot_seconds_, sorted.size(),
                  sorted.empty() ? 0.0 : 1e3 * sorted[sorted.size() / 2],
                  sorted.empty() ? 0.0 : 1e3 * sorted.back(), final_seconds_);
    return text;
  }

 private:
  template <typename Write>
  static double timed(const Write& write) {
    const auto start = Clock::now();
    write();
    return std::chrono::duration<double>(Clock::now() - start).count();
  }
  const EngineInput& input_;
  Clock::time_point last_;
  std::vector<std::size_t> finished_;  ///< points finished since the last commit
  std::optional<ResultJournal> journal_;
  double snapshot_seconds_ = 0, final_seconds_ = 0;
  std::vector<double> journal_seconds_;
};

/// Rank 0's progress line on stderr: rewritten in place on a terminal (every 0.5 s), a new line
/// every 10 s otherwise.
class ProgressReport {
 public:
  ProgressReport(const EngineInput& input) : input_(input), start_(Clock::now()), last_(start_) {
    live_ = input.progress == ProgressMode::on ||
            (input.progress == ProgressMode::automatic && ::isatty(STDERR_FILENO));
  }

  void report(const PointStore& store, bool final) {
    if (input_.progress == ProgressMode::off) return;
    const auto now = Clock::now();
    const double interval = live_ ? 0.5 : 10.0;
    if (!final && now - last_ < std::chrono::duration<double>(interval)) return;
    last_ = now;
    const double elapsed = elapsed_seconds();
    const std::size_t done = store.points_done(), total = input_.total_points;
    const double rate = elapsed > 0 ? static_cast<double>(store.prompts_done()) / elapsed : 0.0;
    // By cost, not by count: points differ in cost by orders of magnitude (M, d, the model).
    const double eta =
        store.cost_done() > 0
            ? elapsed * std::max(0.0, input_.total_cost - store.cost_done()) / store.cost_done()
            : NAN;
    char line[200];
    std::snprintf(
        line, sizeof line, "points %zu/%zu  %.3g prompts/s  elapsed %.0f s  ETA %s", done, total,
        rate, elapsed,
        std::isfinite(eta) ? (std::to_string(static_cast<long>(eta)) + " s").c_str() : "?");
    if (live_)
      std::cerr << '\r' << line << "\033[K" << (final ? "\n" : "") << std::flush;
    else
      std::cerr << line << '\n';
  }

  /// Where rank 0's time went (so that users see what commits and messages cost).
  /// Writes are counted over the whole run (the snapshots after training included), MPI message
  /// handling over the evaluation.
  void report_time(double write_seconds, const std::string& writes, double mpi_seconds) const {
    if (input_.progress == ProgressMode::off) return;
    const double elapsed = elapsed_seconds(), run = input_.earlier_seconds + elapsed;
    write_seconds += input_.earlier_write_seconds;
    std::fprintf(stderr,
                 "rank 0 time: %.3f s in result-file writes (%.2f%% of the run's %.2f s: "
                 "snapshots before evaluation %.3f s, %s), %.3f s handling MPI messages (%.2f%% "
                 "of the evaluation's %.2f s)\n",
                 write_seconds, 100.0 * write_seconds / run, run, input_.earlier_write_seconds,
                 writes.c_str(), mpi_seconds, 100.0 * mpi_seconds / elapsed, elapsed);
  }

 private:
  double elapsed_seconds() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }
  const EngineInput& input_;
  Clock::time_point start_, last_;
  bool live_ = false;
};

/// Rank 0's stop protocol: the first error (or a signal) stops every worker; a failure outranks
/// a stop in the exit code.
class StopCoordinator {
 public:
  explicit StopCoordinator(const Communicator& comm)
      : comm_(comm), finished_(static_cast<std::size_t>(comm.size()), false) {}

  void request_stop(int code, const std::string& message) {
    if (code != exit_code::stopped && outcome_ == 0) {
      outcome_ = code;
      message_ = message;
    }
    if (code == exit_code::stopped && outcome_ == 0) outcome_ = exit_code::stopped;
    if (stopping_) return;
    stopping_ = true;
    for (int rank = 1; rank < comm_.size(); ++rank)
      if (!finished_[rank]) comm_.send(rank, stop_tag, {});
  }
  /// A failure while finishing (the final write) replaces a success or a stop.
  void fail_late(int code, const std::string& message) {
    if (outcome_ == 0 || outcome_ == exit_code::stopped) {
      outcome_ = code;
      message_ = message;
    }
  }
  void worker_finished(int rank) { finished_[rank] = true; }
  bool stopping() const { return stopping_; }
  int outcome() const { return outcome_; }
  const std::string& message() const { return message_; }

 private:
  const Communicator& comm_;
  std::vector<bool> finished_;
  bool stopping_ = false;
  int outcome_ = 0;
  std::string message_;
};

/// Rank 0's view of the run: receives the workers' results into the store, commits, reports
/// progress and coordinates stopping.
class Collector {
 public:
  Collector(const Communicator& comm, const EngineInput& input)
      : comm_(comm),
        input_(input),
        store_(*input.result, input.study->config.prompts),
        committer_(input),
        progress_(input),
        stop_(comm),
        workers_running_(comm.size() - 1) {}

  void store(UnitOutcome&& outcome) {
    const std::size_t point = outcome.unit.item;
    if (store_.store(std::move(outcome))) committer_.point_done(point);
  }

  /// Handle every waiting message, commit and report if due. True when the run should stop.
  bool service() {
    const auto polling = Clock::now();
    while (auto envelope = comm_.poll()) handle(*envelope);
    mpi_seconds_ += std::chrono::duration<double>(Clock::now() - polling).count();
    if (stop_requested()) stop_.request_stop(exit_code::stopped, "");
    committer_.commit_if_due();
    progress_.report(store_, false);
    return stop_.stopping();
  }

  /// Rank 0's own points are done: keep collecting. (Time spent waiting here is idle time, not
  /// communication, and is not counted as such.)
  void wait_for_workers() {
    while (workers_running_ > 0) {
      if (auto envelope = comm_.poll())
        handle(*envelope);
      else
        sleep_briefly();
      service();
    }
  }

  void request_stop(int code, const std::string& message) { stop_.request_stop(code, message); }

  /// Before the first point: the journal of the snapshot written just before, if any.
  void start() { committer_.start(); }

  /// Write the final or partial file and release the workers with the outcome.
  int finish() {
    try {
      if (stop_.outcome() == 0 && store_.points_done() == input_.total_points)
        committer_.write_final();
      else
        committer_.commit();
    } catch (const Error& e) {
      stop_.fail_late(e.exit_code(), e.what());
    }
    progress_.report(store_, true);
    progress_.report_time(committer_.seconds(), committer_.breakdown(), mpi_seconds_);
    const int outcome = stop_.outcome();
    if (!stop_.message().empty()) std::cerr << "icl-study: " << one_line(stop_.message()) << '\n';
    if (outcome == exit_code::stopped)
      std::cerr << "icl-study: stopped by signal; " << store_.points_done() << " of "
                << input_.total_points << " points saved in " << input_.partial_path
                << " (continue with --resume)\n";
    for (int rank = 1; rank < comm_.size(); ++rank)
      comm_.send(rank, final_tag, encode_code(outcome));
    return outcome;
  }

 private:
  void handle(const Envelope& envelope) {
    const auto bytes = comm_.receive(envelope);
    switch (envelope.tag) {
      case result_tag:
        store(decode_result(bytes));
        break;
      case done_tag:
        stop_.worker_finished(envelope.source);
        --workers_running_;
        if (decode_code(bytes).first == exit_code::stopped)
          stop_.request_stop(exit_code::stopped, "");
        break;
      case error_tag: {
        stop_.worker_finished(envelope.source);
        --workers_running_;
        const auto [code, message] = decode_code(bytes);
        stop_.request_stop(code, message);
        break;
      }
      default:
        break;
    }
  }

  const Communicator& comm_;
  const EngineInput& input_;
  PointStore store_;
  Committer committer_;
  ProgressReport progress_;
  StopCoordinator stop_;
  int workers_running_;
  double mpi_seconds_ = 0;
};

int run_collector(const Communicator& comm, const EngineInput& input) {
  Collector collector(comm, input);
  try {
    collector.start();
    for (const WorkUnit& unit : input.my_units) {
      if (collector.service()) break;
      auto outcome =
          evaluate(*input.study, unit, input.models, [&] { return collector.service(); });
      if (outcome) collector.store(std::move(*outcome));
    }
  } catch (const Error& e) {
    collector.request_stop(e.exit_code(), e.what());
  } catch (const std::bad_alloc&) {
    collector.request_stop(exit_code::io_failure, out_of_memory_message);
  } catch (const std::exception& e) {
    collector.request_stop(exit_code::internal_error, std::string("internal error: ") + e.what());
  }
  collector.wait_for_workers();
  return collector.finish();
}

int run_worker(const Communicator& comm, const EngineInput& input) {
  bool stopped = false;
  auto interrupted = [&] {
    while (auto envelope = comm.poll()) {
      comm.receive(*envelope);
      if (envelope->tag == stop_tag) stopped = true;
    }
    if (stop_requested()) stopped = true;
    return stopped;
  };
  try {
    for (const WorkUnit& unit : input.my_units) {
      if (interrupted()) break;
      auto outcome = evaluate(*input.study, unit, input.models, interrupted);
      if (outcome) comm.send(0, result_tag, encode_result(*outcome));
    }
    comm.send(0, done_tag, encode_code(stopped ? exit_code::stopped : exit_code::success));
  } catch (const Error& e) {
    comm.send(0, error_tag, encode_code(e.exit_code(), e.what()));
  } catch (const std::bad_alloc&) {
    comm.send(0, error_tag, encode_code(exit_code::io_failure, out_of_memory_message));
  } catch (const std::exception& e) {
    comm.send(0, error_tag,
              encode_code(exit_code::internal_error, std::string("internal error: ") + e.what()));
  }
  // Wait for rank 0's verdict; a STOP that crossed our DONE is ignored.
  while (true) {
    auto envelope = comm.poll();
    if (!envelope) {
      sleep_briefly();
      continue;
    }
    const auto bytes = comm.receive(*envelope);
    if (envelope->tag == final_tag) return decode_code(bytes).first;
  }
}

}  // namespace

SealIdentity commit_partial(const ResultData& result, const std::string& partial_path) {
  const SealIdentity seal = write_result_file(partial_path, result);
  // The new snapshot holds everything its journal did (a stale journal would be ignored anyway).
  std::error_code ignored;
  std::filesystem::remove(journal_path(partial_path), ignored);
  return seal;
}

int run_engine(const Communicator& comm, const EngineInput& input) {
  return comm.rank() == 0 ? run_collector(comm, input) : run_worker(comm, input);
}

}  // namespace icl
