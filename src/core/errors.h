// errors.h — the exception types every stage throws, and the exit codes they map to.
// Exit codes tell SLURM and scripts what happened: 0 ok, 2 usage, 3 bad data, 75 temporary failure (requeue me).
#pragma once
#include <stdexcept>
#include <string>

namespace s3e {

enum class ExitCode : int { ok = 0, failure = 1, usage = 2, bad_data = 3, temporary = 75 };

// Base of all s3editor errors: a message that already names the file/key and what is wrong, plus an exit code.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Wrong command line or config: unknown key, out-of-range value, missing argument (exit 2).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& m) : Error(ExitCode::usage, m) {}
};

// An input file is unreadable, truncated, of the wrong schema, or holds NaN/Inf (exit 3).
class DataError : public Error {
 public:
  explicit DataError(const std::string& m) : Error(ExitCode::bad_data, m) {}
};

// Something that may succeed when retried: preemption, full disk, lost peer (exit 75, SLURM requeues).
class TransientError : public Error {
 public:
  explicit TransientError(const std::string& m) : Error(ExitCode::temporary, m) {}
};

// Exit code for any exception (std::exception that is not an s3e::Error maps to 1).
int exit_code_of(const std::exception& e);

}  // namespace s3e
