#include "io/files.hpp"

#include "core/errors.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>

namespace icl {
namespace {

/// What a non-regular file is, for messages.
std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// Closes a descriptor on every path out.
struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::vector<std::uint8_t> read_regular_file(const std::string& path, std::uint64_t max_bytes,
                                            const std::string& kind) {
  Descriptor file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (file.fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) throw ConfigError(path + ": no such " + kind);
    throw IoError(path + ": cannot read the " + kind + " (" + std::strerror(error) + ")");
  }
  struct stat info {};
  if (::fstat(file.fd, &info) != 0)
    throw IoError(path + ": cannot read the " + kind + " (" + std::strerror(errno) + ")");
  if (!S_ISREG(info.st_mode))
    throw ConfigError(path + ": is " + kind_of(info.st_mode) + ", expected a regular " + kind);
  // HDF5 (h5py included) holds an exclusive flock while a file is open for writing: reading it now
  // would see a file in the middle of a change.
  if (::flock(file.fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    throw IoError(path +
                  ": is open for writing by another process (it holds the file's lock); "
                  "try again when it has closed the file");
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes)
    throw ConfigError(path + ": " + kind + " of " + std::to_string(info.st_size) +
                      " bytes, expected at most " + std::to_string(max_bytes));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(file.fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw IoError(path + ": reading the " + kind + " failed (" + std::strerror(errno) + ")");
    if (got == 0) break;  // shrank while we read: what we have is judged by the caller
    done += static_cast<std::size_t>(got);
  }
  bytes.resize(done);
  return bytes;
}

void check_output_path(const std::string& path, bool force, const std::string& how_to_continue) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return;                          // nothing there yet
  if (S_ISLNK(info.st_mode) && ::stat(path.c_str(), &info) != 0) return;  // a dangling link
  if (!S_ISREG(info.st_mode))
    throw ConfigError(path + ": is " + kind_of(info.st_mode) +
                      ", expected a regular file or a new name for the output");
  if (!force) throw ConfigError(path + ": exists; " + how_to_continue);
}

int remove_files_of_dead_processes(const std::string& prefix) {
  namespace fs = std::filesystem;
  const fs::path target(prefix);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string start = target.filename().string();
  std::error_code error;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(start, 0) != 0) continue;
    const std::string digits = name.substr(start.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still alive
    std::error_code ignored;
    if (fs::remove(entry.path(), ignored)) ++removed;
  }
  return removed;
}

void check_output_folder(const std::string& output) {
  const auto folder = std::filesystem::absolute(output).parent_path();
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error))
    throw IoError(output + ": the folder " + folder.string() + " does not exist");
  // Probes of runs killed while they probed (the next run is the first that can notice).
  remove_files_of_dead_processes(output + ".probe-");
  const std::string probe = output + ".probe-" + std::to_string(::getpid());
  Descriptor file{::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  int failure = file.fd < 0 ? errno : 0;
  if (failure == 0) {
    // A page of data, as a commit writes: a full disk answers ENOSPC here, not at open().
    const std::vector<char> page(4096, '\0');
    if (::write(file.fd, page.data(), page.size()) != static_cast<ssize_t>(page.size()) ||
        ::fsync(file.fd) != 0)
      failure = errno != 0 ? errno : EIO;
  }
  if (file.fd >= 0) ::unlink(probe.c_str());
  if (failure == ENOSPC || failure == EDQUOT)
    throw IoError(output + ": no space left in " + folder.string() +
                  " (the disk or quota is full)");
  if (failure != 0)
    throw IoError(output + ": cannot write in " + folder.string() + " (" + std::strerror(failure) +
                  ")");
}

std::string disk_full_note(const std::string& path) {
  struct statvfs info {};
  const auto folder = std::filesystem::absolute(path).parent_path();
  if (::statvfs(folder.c_str(), &info) != 0) return "";
  const auto free_bytes = static_cast<unsigned long long>(info.f_bavail) * info.f_frsize;
  if (free_bytes >= (1u << 20)) return "";
  return " (the disk is full: " + std::to_string(free_bytes) + " bytes free in " + folder.string() +
         ")";
}

OutputLock::OutputLock(const std::string& output, const std::string& command)
    : path_(lock_path(output)) {
  // Taking the lock and checking that the path still names the locked file closes the race with a
  // holder that unlinks the lock file as it finishes (we would hold a lock on a removed file).
  for (int attempt = 0; attempt < 100; ++attempt) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw IoError(path_ + ": cannot create the lock file (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EWOULDBLOCK) {
        char holder[512] = {};
        const ssize_t got = ::pread(fd_, holder, sizeof holder - 1, 0);
        std::string who = got > 0 ? std::string(holder, static_cast<std::size_t>(got)) : "";
        while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
        for (char& c : who)
          if (c == '\n') c = ' ';
        ::close(fd_);
        fd_ = -1;
        throw ConfigError(output + ": is being written by another run (" +
                          (who.empty() ? std::string("holder unknown") : who) + "; lock " + path_ +
                          ")");
      }
      // No flock on this file system (some NFS and Lustre mounts): say so, go on unlocked.
      std::cerr << "icl-study: warning: " << path_ << ": file locking unsupported here ("
                << std::strerror(error) << "); nothing stops a second run on the same output\n";
      return;
    }
    struct stat opened {
    }, named{};
    if (::fstat(fd_, &opened) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        opened.st_ino == named.st_ino && opened.st_dev == named.st_dev)
      break;
    ::close(fd_);  // the holder removed it between our open and our lock: try again
    fd_ = -1;
  }
  if (fd_ < 0) throw IoError(path_ + ": cannot take the lock (the file keeps changing)");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32] = {};
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const std::string text = "icl-study " + command + " on " + host + ", pid " +
                           std::to_string(::getpid()) + ", since " + when + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    // The lock holds without its note; a second run then names the lock file only.
  }
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // before unlocking: a waiting run then re-checks and retries
  ::close(fd_);
}

}  // namespace icl
