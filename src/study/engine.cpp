#include "study/engine.hpp"

#include "core/errors.hpp"
#include "evaluation/point_evaluation.hpp"
#include "parallel/bytes.hpp"
#include "parallel/signals.hpp"

#include <unistd.h>

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

/// Rank 0's view of the run: stores results, commits, reports progress, coordinates stopping.
class Collector {
 public:
  Collector(const Communicator& comm, const EngineInput& input)
      : comm_(comm),
        input_(input),
        result_(*input.result),
        start_(Clock::now()),
        last_commit_(start_),
        last_report_(start_) {
    workers_running_ = comm.size() - 1;
    live_ = input.progress == ProgressMode::on ||
            (input.progress == ProgressMode::automatic && ::isatty(STDERR_FILENO));
  }

  /// A unit's chunks; the point is stored once all of its chunks are in.
  void store(UnitOutcome&& outcome) {
    const std::size_t point = outcome.unit.item;
    auto& pending = pending_[point];
    const std::uint32_t total = chunk_count(input_.study->config.prompts);
    if (pending.chunks.empty()) pending.chunks.resize(total);
    for (std::uint32_t k = 0; k < outcome.unit.chunks; ++k)
      pending.chunks[outcome.unit.first_chunk + k] = std::move(outcome.chunks[k]);
    pending.received += outcome.unit.chunks;
    pending.seconds += outcome.seconds;
    if (pending.received < total) return;

    const auto statistics = fold_chunks(pending.chunks, result_.predictors.size());
    for (std::size_t p = 0; p < statistics.size(); ++p) {
      auto& columns = result_.predictors[p];
      const auto& s = statistics[p];
      columns.risk[point] = s.mean;
      columns.standard_error[point] = s.standard_error();
      columns.prompts[point] = static_cast<std::int64_t>(s.count);
    }
    result_.points.status[point] = 1;
    result_.points.seconds[point] = pending.seconds;
    pending_.erase(point);
    ++done_;
    dirty_ = true;
    prompts_done_ += input_.study->config.prompts;
  }

  /// Handle every waiting message, commit and report if due. True when the run should stop.
  bool service() {
    const auto polling = Clock::now();
    while (auto envelope = comm_.poll()) handle(*envelope);
    mpi_seconds_ += std::chrono::duration<double>(Clock::now() - polling).count();
    if (stop_requested()) request_stop(exit_code::stopped, "");
    const auto now = Clock::now();
    if (dirty_ &&
        now - last_commit_ >= std::chrono::duration<double>(input_.commit_interval_seconds))
      commit();
    report(false);
    return stopping_;
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

  /// Write the final or partial file and release the workers with the outcome.
  int finish() {
    try {
      if (outcome_ == 0 && done_ == input_.total_points) {
        const auto start = Clock::now();
        write_result_file(input_.final_path, result_);
        hdf5_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
        std::error_code ignored;
        std::filesystem::remove(input_.partial_path, ignored);
      } else {
        commit();
      }
    } catch (const Error& e) {
      if (outcome_ == 0 || outcome_ == exit_code::stopped) {
        outcome_ = e.exit_code();
        message_ = e.what();
      }
    }
    report(true);
    if (input_.progress != ProgressMode::off) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      std::fprintf(stderr,
                   "rank 0 time: %.3f s in HDF5 writes (%.2f%%), %.3f s handling MPI messages "
                   "(%.2f%%) of %.2f s\n",
                   hdf5_seconds_, 100.0 * hdf5_seconds_ / elapsed, mpi_seconds_,
                   100.0 * mpi_seconds_ / elapsed, elapsed);
    }
    if (!message_.empty()) std::cerr << "icl-study: " << one_line(message_) << '\n';
    if (outcome_ == exit_code::stopped)
      std::cerr << "icl-study: stopped by signal; " << done_ << " of " << input_.total_points
                << " points saved in " << input_.partial_path << " (continue with --resume)\n";
    for (int rank = 1; rank < comm_.size(); ++rank)
      comm_.send(rank, final_tag, encode_code(outcome_));
    return outcome_;
  }

  bool stopping() const { return stopping_; }

 private:
  void handle(const Envelope& envelope) {
    const auto bytes = comm_.receive(envelope);
    switch (envelope.tag) {
      case result_tag:
        store(decode_result(bytes));
        break;
      case done_tag:
        finished_[envelope.source] = true;
        --workers_running_;
        if (decode_code(bytes).first == exit_code::stopped) request_stop(exit_code::stopped, "");
        break;
      case error_tag: {
        finished_[envelope.source] = true;
        --workers_running_;
        const auto [code, message] = decode_code(bytes);
        request_stop(code, message);
        break;
      }
      default:
        break;
    }
  }

  void commit() {
    const auto start = Clock::now();
    commit_partial(result_, input_.partial_path);
    last_commit_ = Clock::now();
    hdf5_seconds_ += std::chrono::duration<double>(last_commit_ - start).count();
    dirty_ = false;
  }

  void report(bool final) {
    if (input_.progress == ProgressMode::off) return;
    const auto now = Clock::now();
    const double interval = live_ ? 0.5 : 10.0;
    if (!final && now - last_report_ < std::chrono::duration<double>(interval)) return;
    last_report_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(prompts_done_) / elapsed : 0.0;
    const std::size_t total = input_.total_points;
    const double eta = done_ > 0 ? elapsed * static_cast<double>(total - done_) / done_ : NAN;
    char line[200];
    std::snprintf(
        line, sizeof line, "points %zu/%zu  %.3g prompts/s  elapsed %.0f s  ETA %s", done_, total,
        rate, elapsed,
        std::isfinite(eta) ? (std::to_string(static_cast<long>(eta)) + " s").c_str() : "?");
    if (live_)
      std::cerr << '\r' << line << "\033[K" << (final ? "\n" : "") << std::flush;
    else
      std::cerr << line << '\n';
  }

  const Communicator& comm_;
  const EngineInput& input_;
  ResultData& result_;
  Clock::time_point start_, last_commit_, last_report_;
  std::vector<bool> finished_ = std::vector<bool>(static_cast<std::size_t>(comm_.size()), false);
  int workers_running_ = 0;
  std::size_t done_ = 0;
  std::uint64_t prompts_done_ = 0;
  bool dirty_ = false, stopping_ = false, live_ = false;
  int outcome_ = 0;
  std::string message_;
  double hdf5_seconds_ = 0, mpi_seconds_ = 0;
  struct PendingPoint {
    ChunkStatistics chunks;
    std::uint32_t received = 0;
    double seconds = 0;
  };
  std::map<std::size_t, PendingPoint> pending_;  ///< points with some chunks in
};

int run_collector(const Communicator& comm, const EngineInput& input) {
  Collector collector(comm, input);
  try {
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

void commit_partial(const ResultData& result, const std::string& partial_path) {
  write_result_file(partial_path, result);
}

int run_engine(const Communicator& comm, const EngineInput& input) {
  return comm.rank() == 0 ? run_collector(comm, input) : run_worker(comm, input);
}

}  // namespace icl
