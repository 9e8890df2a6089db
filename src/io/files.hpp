#pragma once
/// Files as hostile input and as precious output: reading only regular files of a bounded size
/// (never blocking on a FIFO, never reading /dev/zero until memory runs out), one overwrite rule
/// for every command that writes, and a lock that keeps two runs off one output.
#include <cstdint>
#include <string>
#include <vector>

namespace icl {

/// The largest config file read (a 10^6-point grid is a few kilobytes of TOML).
inline constexpr std::uint64_t max_config_bytes = 1u << 20;

/// The bytes of `path`, which must be a regular file of at most `max_bytes`. ConfigError (exit 2)
/// naming the path when it is missing, is a folder, FIFO, device or socket, or is too large;
/// IoError (exit 3) when it exists but cannot be read. `kind` ("config file", "result file")
/// names it in the message. The file is opened without blocking, so a FIFO cannot hang us.
std::vector<std::uint8_t> read_regular_file(const std::string& path, std::uint64_t max_bytes,
                                            const std::string& kind);

/// The rule every command that writes a file follows: an output that exists must be a regular
/// file (a device, FIFO, folder or socket is refused, --force or not: `-o /dev/null` as root must
/// never replace /dev/null) and is replaced only with `force` (ConfigError naming the path and
/// `how_to_continue`, e.g. "use --force to replace it").
void check_output_path(const std::string& path, bool force, const std::string& how_to_continue);

/// Remove the files named `prefix` followed by the pid of a process that no longer exists (the
/// temporaries and probes of killed runs); a live process's files are left alone. Returns how
/// many were removed.
int remove_files_of_dead_processes(const std::string& prefix);

/// Before any work: the folder of `output` exists and takes a small file (written, flushed,
/// removed). IoError naming the output and the cause: a missing folder, no permission, a read-only
/// file system, or a full disk (said as such).
void check_output_folder(const std::string& output);

/// Why writing into the folder of `path` may have failed, when the disk is the cause: " (the
/// disk is full: N bytes free)", or "" when there is room. For messages after a failed write.
std::string disk_full_note(const std::string& path);

/// An exclusive advisory lock on `OUTPUT.lock` (flock), held for the life of the object by the
/// one process that writes OUTPUT and OUTPUT.partial. A second writer gets ConfigError naming
/// the holder (host, pid, command, start time, which the lock file records). Where the file system
/// does not support flock (some NFS and Lustre mounts), a warning is printed and the run goes on
/// unlocked. The lock file is removed when the lock is released.
class OutputLock {
 public:
  explicit OutputLock(const std::string& output, const std::string& command);
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();

  static std::string lock_path(const std::string& output) { return output + ".lock"; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace icl
