#include "common/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace s3e::test {

TempDir::TempDir(const std::string& tag) {
  static std::random_device rd;
  path_ = fs::temp_directory_path() / ("s3e_test_" + tag + "_" + std::to_string(::getpid()) + "_" +
                                       std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  if (!std::getenv("S3E_KEEP_TEST_FILES")) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// A child s3editor or mpiexec must not think it belongs to this test's own MPI job (the test binary is an MPI
// singleton, and mpiexec refuses to run "recursively" when it sees those variables).
std::string clean_mpi_env() {
  return "for v in $(compgen -e | grep -E '^(OMPI|PMIX|OPAL|ORTE|HYDRA|PMI)_'); do unset $v; done; ";
}

CommandResult run_s3editor(const std::string& args) {
  return run_command("bash -c " + shell_quote(clean_mpi_env() + "exec " + S3E_BINARY + " " + args + " 2>&1"));
}

CommandResult run_s3editor_mpi(int ranks, const std::string& args) {
  return run_command("bash -c " + shell_quote(clean_mpi_env() + "exec " + S3E_MPIEXEC +
                                              " --allow-run-as-root --oversubscribe --bind-to none -n " +
                                              std::to_string(ranks) + " " + S3E_BINARY + " " + args + " 2>&1"));
}

CommandResult run_python(const std::string& code) {
  return run_command(std::string(S3E_PYTHON3) + " -c " + shell_quote(code));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256_of(const fs::path& path) {
  auto r = run_command("sha256sum " + shell_quote(path.string()));
  return r.output.substr(0, 64);
}

}  // namespace s3e::test
