#pragma once
/// The project's one small error family. Every error carries the process exit code the command line
/// maps it to: 2 bad input, 3 I/O or resource failure (a disk, a lock, memory), 4 numerical
/// failure, 75 stopped by a signal (continue with --resume).
#include <cstdio>
#include <stdexcept>
#include <string>

namespace icl {

/// The process exit codes, one place for all of them (the README's "Exit codes").
namespace exit_code {
inline constexpr int success = 0;
inline constexpr int internal_error = 1;  ///< a bug: an exception outside the error family
inline constexpr int bad_input = 2;       ///< ConfigError
inline constexpr int io_failure = 3;      ///< IoError, and running out of memory
inline constexpr int numerical = 4;       ///< NumericalError
inline constexpr int stopped = 75;        ///< Interrupted: a stop signal (EX_TEMPFAIL; --resume)
}  // namespace exit_code

/// An error message as the one line the user sees: control characters (a newline inside a
/// covariance string, say) are written as escapes, so no message spans several lines.
inline std::string one_line(const std::string& message) {
  std::string line;
  line.reserve(message.size());
  for (const char c : message) {
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if (c == '\t') {
      line += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      line += escaped;
    } else {
      line += c;
    }
  }
  return line;
}

/// User text quoted inside a message: one line (see one_line) and at most about 80 characters,
/// the middle elided, so an 80 KB covariance string does not become an 80 KB error.
inline std::string quote(const std::string& text) {
  const std::string line = one_line(text);
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about "'" + line + "'".
  std::string quoted(1, '\'');
  if (line.size() <= 80) {
    quoted.append(line);
  } else {
    quoted.append(line, 0, 50);
    quoted.append("...(").append(std::to_string(line.size() - 70)).append(" more)...");
    quoted.append(line, line.size() - 20, 20);
  }
  quoted.push_back('\'');
  return quoted;
}

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, int exit_code)
      : std::runtime_error(message), code_(exit_code) {}
  int exit_code() const noexcept { return code_; }

 private:
  int code_;
};

/// Running out of memory is a failure of the machine's resources, reported like an I/O failure
/// (exit_code::io_failure), never as a numerical one.
inline constexpr const char* out_of_memory_message =
    "out of memory (the study's working set does not fit: fewer threads or ranks per node, or "
    "smaller d, N or M)";

/// A stop asked for by a signal (SIGTERM, SIGINT, SIGUSR1) in a phase that cannot finish its
/// current item: what is done is kept, the run exits 75 and continues with --resume.
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& message) : Error(message, exit_code::stopped) {}
};

/// Bad input: a config key, a command-line argument, a covariance spec, a file of the wrong kind.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, exit_code::bad_input) {}
};

/// A file could not be read, written, renamed or flushed.
class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(message, exit_code::io_failure) {}
};

/// Divergence, NaN or Inf, a matrix that should be positive definite and is not.
class NumericalError : public Error {
 public:
  explicit NumericalError(const std::string& message) : Error(message, exit_code::numerical) {}
};

}  // namespace icl
