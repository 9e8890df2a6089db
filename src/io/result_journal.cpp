#include "io/result_journal.hpp"

#include "core/errors.hpp"
#include "io/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace icl {
namespace {

// The journal's numbers are written as the machine holds them; the format says little-endian,
// which is every machine this runs on (a big-endian one would need byte swaps here).
static_assert(std::endian::native == std::endian::little, "the journal format is little-endian");

constexpr std::size_t header_bytes = 128;
constexpr std::string_view header_magic = "icl-study journal 1\n";
constexpr std::string_view record_magic = "ICLR";
constexpr std::size_t record_head_bytes =
    12;  // magic, CRC-32 (u32) of what follows, point count (u32)

/// The header: which snapshot the journal extends and the shape of its rows; zeros to 128 bytes.
std::string header_text(const SealIdentity& seal, std::size_t points, std::size_t predictors) {
  char text[header_bytes];
  std::snprintf(text, sizeof text,
                "%.*ssnapshot crc32 %08" PRIx32 " bytes %" PRIu64 "\npoints %zu predictors %zu\n",
                static_cast<int>(header_magic.size()), header_magic.data(), seal.crc, seal.bytes,
                points, predictors);
  std::string block(text);
  block.resize(header_bytes, '\0');
  return block;
}

/// A row: point index (u64), status (u8), seconds (f64), then per predictor risk, stderr (f64),
/// prompts (i64), skewness, excess kurtosis (f64).
std::size_t row_bytes(std::size_t predictors) {
  return 8 + 1 + 8 + predictors * 40;
}

template <typename T>
void put(std::vector<std::uint8_t>& out, const T& value) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof value);
}

template <typename T>
T get(const std::uint8_t*& in) {
  T value;
  std::memcpy(&value, in, sizeof value);
  in += sizeof value;
  return value;
}

void write_all(int fd, const std::uint8_t* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0)
      throw IoError(path + ": writing the journal failed (" + std::strerror(errno) + ")" +
                    disk_full_note(path));
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

void flush(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0)
    throw IoError(path + ": flushing the journal to disk failed (" + std::strerror(errno) + ")");
}

}  // namespace

ResultJournal::ResultJournal(const std::string& result_path, const SealIdentity& seal,
                             const ResultData& data)
    : path_(journal_path(result_path)),
      points_(data.points.size()),
      predictors_(data.predictors.size()) {
  // Truncated in place: a crash before the header is complete leaves a journal no snapshot
  // claims, which readers ignore (the snapshot just written holds everything).
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(path_ + ": cannot create the journal (" + std::strerror(errno) + ")");
  const std::string header = header_text(seal, points_, predictors_);
  write_all(fd_, reinterpret_cast<const std::uint8_t*>(header.data()), header.size(), path_);
  flush(fd_, path_);
  bytes_ = header.size();
}

ResultJournal::~ResultJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultJournal::append(const ResultData& data, const std::vector<std::size_t>& points) {
  if (points.empty()) return;
  std::vector<std::uint8_t> record(record_magic.begin(), record_magic.end());
  record.reserve(record_head_bytes + points.size() * row_bytes(predictors_));
  put<std::uint32_t>(record, 0);  // the CRC, filled in below
  put<std::uint32_t>(record, static_cast<std::uint32_t>(points.size()));
  for (std::size_t i : points) {
    put<std::uint64_t>(record, i);
    put<std::uint8_t>(record, data.points.status[i]);
    put<double>(record, data.points.seconds[i]);
    for (const auto& columns : data.predictors) {
      put<double>(record, columns.risk[i]);
      put<double>(record, columns.standard_error[i]);
      put<std::int64_t>(record, columns.prompts[i]);
      put<double>(record, columns.skewness[i]);
      put<double>(record, columns.excess_kurtosis[i]);
    }
  }
  // The CRC covers the count and the rows, so a record is applied whole or not at all.
  const std::uint32_t crc = crc32_of(record.data() + 8, record.size() - 8);
  std::memcpy(record.data() + 4, &crc, sizeof crc);
  write_all(fd_, record.data(), record.size(), path_);
  flush(fd_, path_);
  bytes_ += record.size();
}

std::size_t replay_result_journal(const std::string& result_path, const SealIdentity& seal,
                                  ResultData& data) {
  const std::string path = journal_path(result_path);
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;  // no journal: a finished or fresh file
  const auto bytes = read_regular_file(path, UINT64_MAX, "journal");
  const std::size_t predictors = data.predictors.size(), points = data.points.size();
  if (bytes.size() < header_bytes ||
      std::memcmp(bytes.data(), header_text(seal, points, predictors).data(), header_bytes) != 0) {
    // Written for another snapshot (the snapshot was replaced after it), or cut short while it
    // was begun: the snapshot holds everything that journal did. A journal of this snapshot
    // with another shape is damage.
    const std::string claimed(reinterpret_cast<const char*>(bytes.data()),
                              std::min(bytes.size(), header_bytes));
    const std::string ours = header_text(seal, points, predictors);
    const auto shape = ours.find("points ");
    if (bytes.size() >= header_bytes && claimed.compare(0, shape, ours, 0, shape) == 0)
      throw ConfigError(path + ": damaged journal (its header does not match " + result_path +
                        ": another number of points or predictors)");
    return 0;
  }
  const std::size_t row = row_bytes(predictors);
  std::size_t offset = header_bytes, records = 0;
  while (offset + record_head_bytes <= bytes.size()) {
    const std::uint8_t* head = bytes.data() + offset;
    if (std::memcmp(head, record_magic.data(), record_magic.size()) != 0) break;
    const std::uint8_t* cursor = head + 4;
    const auto crc = get<std::uint32_t>(cursor);
    const auto count = get<std::uint32_t>(cursor);
    const std::size_t body = static_cast<std::size_t>(count) * row;
    if (offset + record_head_bytes + body > bytes.size()) break;  // cut short by a kill
    if (crc32_of(head + 8, 4 + body) != crc) break;
    // Check every row before applying any: a damaged record changes nothing.
    bool valid = true;
    for (std::size_t r = 0; r < count && valid; ++r) {
      const std::uint8_t* row_start = cursor + r * row;
      const auto index = get<std::uint64_t>(row_start);
      const auto status = get<std::uint8_t>(row_start);
      valid = index < points && status <= point_status::eliminated;
    }
    if (!valid) break;
    for (std::size_t r = 0; r < count; ++r) {
      const auto index = static_cast<std::size_t>(get<std::uint64_t>(cursor));
      data.points.status[index] = get<std::uint8_t>(cursor);
      data.points.seconds[index] = get<double>(cursor);
      for (auto& columns : data.predictors) {
        columns.risk[index] = get<double>(cursor);
        columns.standard_error[index] = get<double>(cursor);
        columns.prompts[index] = get<std::int64_t>(cursor);
        columns.skewness[index] = get<double>(cursor);
        columns.excess_kurtosis[index] = get<double>(cursor);
      }
    }
    offset += record_head_bytes + body;
    ++records;
  }
  // A kill while appending leaves at most one record cut short at the end; anything longer than
  // one record's head that cannot be read means damage, and its points are evaluated again.
  if (offset < bytes.size()) {
    const std::size_t left = bytes.size() - offset;
    const std::uint8_t* head = bytes.data() + offset;
    std::uint32_t count = 0;
    if (left >= record_head_bytes) std::memcpy(&count, head + 8, sizeof count);
    const bool cut_short = left < record_head_bytes ||
                           (std::memcmp(head, record_magic.data(), record_magic.size()) == 0 &&
                            record_head_bytes + static_cast<std::size_t>(count) * row > left);
    if (!cut_short)
      std::cerr << "icl-study: warning: " << path << ": damaged after " << records
                << " commits; the points of the " << left << " bytes after them count as pending\n";
  }
  return records;
}

}  // namespace icl
