#pragma once
/// The project's one small error family. Every error carries the process exit code the command line
/// maps it to (DESIGN.md): 2 bad input, 3 I/O failure, 4 numerical failure.
#include <stdexcept>
#include <string>

namespace icl {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, int exit_code)
      : std::runtime_error(message), code_(exit_code) {}
  int exit_code() const noexcept { return code_; }

 private:
  int code_;
};

/// Bad input: a config key, a command-line argument, a covariance spec, a file of the wrong kind.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, 2) {}
};

/// A file could not be read, written, renamed or flushed.
class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(message, 3) {}
};

/// Divergence, NaN or Inf, a matrix that should be positive definite and is not.
class NumericalError : public Error {
 public:
  explicit NumericalError(const std::string& message) : Error(message, 4) {}
};

}  // namespace icl
