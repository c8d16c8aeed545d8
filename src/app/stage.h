// stage.h — what every subcommand shares: the common options (--config, --set, --run-dir, --seed, --threads,
// --log-level, --fresh, --help), config resolution (CLI > files > defaults), the run folder with the effective
// config and per-rank logs, logging with the rank prefix, and the communicator every stage uses ([dist] keys).
// See docs/cli.md. A subcommand (app/cmd_<name>.cpp) parses with a Stage and hands run() and comm() to its
// pipeline driver.
#pragma once
#include <boost/program_options.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/run_lock.h"
#include "dist/communicator.h"
#include "dist/process_context.h"
#include "pipeline/stage_run.h"

namespace s3e {

class Stage {
 public:
  Stage(std::string name, std::string summary);

  // Keys this stage reads from the config (the common run.* keys are already there).
  ConfigSchema& schema() { return schema_; }
  // Flags of this stage beyond the common ones.
  boost::program_options::options_description& options() { return options_; }
  // Positional arguments: `name` repeated up to `max_count` times (-1: unlimited).
  void add_positional(const std::string& name, int max_count, const std::string& help);

  // Read-only tools (inspect, probe): the effective config is logged at debug level and not saved.
  void set_read_only() { read_only_ = true; }

  // Parses the command line. Returns false when --help was printed (exit 0). After it returns true: logging is
  // set up, the run folder exists with logs/ and <stage>.config.ini, and OMP_NUM_THREADS is set.
  bool parse(int argc, char** argv);

  const Config& config() const { return *config_; }
  const boost::program_options::variables_map& vars() const { return vars_; }
  std::vector<std::string> positional(const std::string& name) const;
  const std::filesystem::path& run_dir() const { return run_dir_; }
  bool fresh() const { return fresh_; }
  int threads() const { return static_cast<int>(config_->get_int("run.threads")); }
  uint64_t seed() const { return static_cast<uint64_t>(config_->get_int("run.seed")); }
  const std::string& name() const { return name_; }
  const ProcessContext& context() const { return process_context(); }
  // The communicator over all ranks (created by parse() from the [dist] keys); every collective goes through it.
  Communicator& comm() const { return *comm_; }
  // What the stage's pipeline driver needs besides its inputs.
  StageRun run() const { return StageRun{name_, run_dir_, *config_, fresh_}; }

  // A path given on the command line, or `default_name` inside the run folder.
  std::filesystem::path output_path(const std::string& option, const std::string& default_name) const;

 private:
  std::string name_, summary_;
  ConfigSchema schema_;
  boost::program_options::options_description options_;
  boost::program_options::positional_options_description positional_;
  std::vector<std::pair<std::string, std::string>> positional_help_;
  boost::program_options::variables_map vars_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<RunLock> lock_;  // rank 0 holds the run folder's lock while the stage runs
  std::filesystem::path run_dir_;
  bool fresh_ = false;
  bool read_only_ = false;
};

}  // namespace s3e
