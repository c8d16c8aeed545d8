// test_util.h — helpers shared by the tests: temporary folders, running the s3editor binary, reading files.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace s3e::test {

// A fresh folder under the build tree's tmp/ (removed at destruction unless S3E_KEEP_TEST_FILES is set).
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing its output and exit code.
CommandResult run_command(const std::string& command);

// Runs `s3editor <args>` (the binary built with the tests).
CommandResult run_s3editor(const std::string& args);

// Runs `s3editor <args>` under mpiexec with `ranks` processes.
CommandResult run_s3editor_mpi(int ranks, const std::string& args);

// Shell prefix that unsets this process's MPI variables, for launching independent MPI jobs from a test.
std::string clean_mpi_env();

// Runs a python3 snippet with the Debian interpreter that sees numpy/h5py/torch.
CommandResult run_python(const std::string& code);

std::string read_file(const std::filesystem::path& path);
std::string sha256_of(const std::filesystem::path& path);
std::string shell_quote(const std::string& s);

}  // namespace s3e::test
