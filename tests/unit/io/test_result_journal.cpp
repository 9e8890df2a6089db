#define BOOST_TEST_MODULE io_result_journal
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "io/result_file.hpp"
#include "io/result_journal.hpp"
#include "result_support.hpp"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

// The journal that makes a commit cost what it adds (result_journal.hpp): what a reader sees
// after every kind of interruption a kill can cause, and that damage is never applied.

using namespace icl;
using namespace icl::testing;
namespace fs = std::filesystem;

namespace {

/// Two results agree in every column the journal carries (NaN equal to NaN).
void check_same(const ResultData& read, const ResultData& expected) {
  BOOST_TEST(read.points.status == expected.points.status);
  BOOST_TEST(read.points.seconds == expected.points.seconds);
  BOOST_TEST(read.points.shift == expected.points.shift);
  BOOST_TEST(read.points.covariance == expected.points.covariance);
  BOOST_REQUIRE(read.predictors.size() == expected.predictors.size());
  for (std::size_t p = 0; p < read.predictors.size(); ++p) {
    const auto& a = read.predictors[p];
    const auto& b = expected.predictors[p];
    BOOST_TEST(a.prompts == b.prompts);
    for (std::size_t i = 0; i < a.risk.size(); ++i) {
      BOOST_TEST((a.risk[i] == b.risk[i] || (std::isnan(a.risk[i]) && std::isnan(b.risk[i]))));
      BOOST_TEST((a.skewness[i] == b.skewness[i] ||
                  (std::isnan(a.skewness[i]) && std::isnan(b.skewness[i]))));
    }
  }
}

struct Folder {
  fs::path path = fs::temp_directory_path() / ("icl-journal-" + std::to_string(::getpid()));
  Folder() { fs::create_directories(path); }
  ~Folder() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

/// A snapshot of `points` pending points with its journal open, in a folder of its own.
struct JournaledSnapshot : Folder {
  std::string path = file("out.h5.partial");
  ResultData data;
  ResultJournal journal;
  explicit JournaledSnapshot(std::size_t points)
      : data(synthetic_result(points)), journal(path, write_result_file(path, data), data) {}
  /// Finish `points` and commit them as one record.
  void commit(const std::vector<std::size_t>& points) {
    for (std::size_t i : points) finish_point(data, i);
    journal.append(data, points);
  }
};

std::string bytes_of(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::uintmax_t size_of(const std::string& path) {
  return fs::file_size(path);
}

}  // namespace

BOOST_AUTO_TEST_CASE(commits_are_read_back_over_the_snapshot) {
  Folder folder;
  const std::string path = folder.file("out.h5.partial");
  ResultData data = synthetic_result(50);
  finish_point(data, 3);
  const SealIdentity seal = write_result_file(path, data);
  ResultJournal journal(path, seal, data);
  const ResultData snapshot = data;
  check_same(read_result_file(path), snapshot);  // an empty journal changes nothing

  for (std::size_t i : {7, 8, 20}) finish_point(data, i);
  journal.append(data, {7, 8, 20});
  finish_point(data, 49);
  journal.append(data, {49});
  journal.append(data, {});  // nothing finished: nothing written
  check_same(read_result_file(path), data);
  BOOST_TEST(journal.bytes() == size_of(journal_path(path)));
}

BOOST_AUTO_TEST_CASE(a_commit_cut_short_at_any_byte_is_not_applied) {
  JournaledSnapshot snapshot(20);
  const std::string& path = snapshot.path;
  snapshot.commit({1});
  const ResultData first = snapshot.data;
  const auto complete = snapshot.journal.bytes();
  snapshot.commit({2, 5});
  const std::string whole = bytes_of(journal_path(path));
  // A kill while appending leaves the second record cut anywhere: the reader sees the first.
  for (auto length = complete; length < whole.size(); ++length) {
    std::ofstream(journal_path(path), std::ios::binary | std::ios::trunc)
        << whole.substr(0, length);
    check_same(read_result_file(path), first);
  }
  // The header itself cut short (a kill while the journal was begun): the snapshot alone.
  fs::resize_file(journal_path(path), 60);
  check_same(read_result_file(path), synthetic_result(20));
}

BOOST_AUTO_TEST_CASE(a_damaged_commit_and_those_after_it_are_not_applied) {
  JournaledSnapshot snapshot(20);
  const std::string& path = snapshot.path;
  snapshot.commit({1});
  const ResultData first = snapshot.data;
  const auto second_starts = snapshot.journal.bytes();
  snapshot.commit({2});
  snapshot.commit({3});
  check_same(read_result_file(path), snapshot.data);
  // One bit flipped in the second record's risk: neither it nor the third is applied.
  {
    std::fstream file(journal_path(path), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(second_starts + 12 + 17));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x10);
    file.seekp(static_cast<std::streamoff>(second_starts + 12 + 17));
    file.write(&byte, 1);
  }
  check_same(read_result_file(path), first);
}

BOOST_AUTO_TEST_CASE(a_journal_of_another_snapshot_is_ignored) {
  Folder folder;
  const std::string path = folder.file("out.h5.partial");
  ResultData data = synthetic_result(20);
  const SealIdentity old_seal = write_result_file(path, data);
  ResultJournal journal(path, old_seal, data);
  finish_point(data, 4);
  journal.append(data, {4});
  // A newer snapshot (a later commit of the whole file) without point 4's commit: the old
  // journal must not be replayed onto it, so the reader sees exactly the new snapshot.
  ResultData newer = synthetic_result(20);
  finish_point(newer, 9);
  const SealIdentity new_seal = write_result_file(path, newer);
  BOOST_TEST(!(new_seal == old_seal));
  check_same(read_result_file(path), newer);
}

BOOST_AUTO_TEST_CASE(a_journal_of_this_snapshot_with_another_shape_is_refused) {
  Folder folder;
  const std::string path = folder.file("out.h5.partial");
  ResultData data = synthetic_result(20);
  const SealIdentity seal = write_result_file(path, data);
  ResultData other = synthetic_result(21);  // one point more than the snapshot
  ResultJournal journal(path, seal, other);
  BOOST_CHECK_THROW(read_result_file(path), ConfigError);
}
