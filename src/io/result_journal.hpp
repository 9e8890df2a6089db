#pragma once
/// The commit journal of a run in progress (src/io/schema.md, "The journal").
///
/// Rewriting the partial file on every commit cost time in proportion to the whole grid (33% of
/// rank 0's time on a 400 000-point grid). Instead, a run writes the partial file once (a sealed
/// snapshot) and then appends each commit's finished points to `OUT.h5.partial.journal`: one
/// record per commit, with its own CRC-32, flushed to disk before the commit returns. A commit
/// then costs what it adds, not what the file holds. Readers (`read_result_file`, the Python
/// loader) replay the journal over the snapshot. The journal names the snapshot it extends (by the
/// snapshot's seal), so a journal left beside a newer snapshot is ignored, and a record cut short
/// by a kill ends the replay: every commit that returned is read back, nothing half-written is.
#include "io/result_file.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace icl {

/// The journal beside result file `result_path`.
inline std::string journal_path(const std::string& result_path) {
  return result_path + ".journal";
}

/// Appends commits to the journal of one snapshot. Not copyable; closes its file on destruction.
class ResultJournal {
 public:
  /// Start an empty journal for the snapshot `seal` of `data` just written to `result_path`,
  /// replacing any journal there. IoError when it cannot be written.
  ResultJournal(const std::string& result_path, const SealIdentity& seal, const ResultData& data);
  ResultJournal(const ResultJournal&) = delete;
  ResultJournal& operator=(const ResultJournal&) = delete;
  ~ResultJournal();

  /// Append the rows of `points` (status, seconds, estimates) as they are now in `data`, as one
  /// record, and flush it to disk. IoError when the write fails (the journal then ends before it).
  void append(const ResultData& data, const std::vector<std::size_t>& points);

  std::uint64_t bytes() const { return bytes_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::size_t points_ = 0, predictors_ = 0;
  std::uint64_t bytes_ = 0;
};

/// Replay the journal beside `result_path` onto `data`, the snapshot sealed `seal` read from it.
/// A missing journal, or one written for another snapshot, changes nothing. A record cut short or
/// damaged ends the replay (its points stay pending; a warning names the journal when a damaged
/// record is followed by more bytes). ConfigError when the journal claims this snapshot but does
/// not fit its shape. Returns the number of records applied.
std::size_t replay_result_journal(const std::string& result_path, const SealIdentity& seal,
                                  ResultData& data);

}  // namespace icl
