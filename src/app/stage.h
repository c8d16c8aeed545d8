// stage.h — what every subcommand shares: the common options (--config, --set, --run-dir, --seed, --threads,
// --log-level, --fresh, --help), config resolution (CLI > files > defaults), the run folder with the effective
// config and per-rank logs, logging with the rank prefix, and the communicator every stage uses ([dist] keys).
// See docs/cli.md. A subcommand (app/cmd_<name>.cpp) parses with a Stage and hands run() and comm() to its
// pipeline driver.
//
// Inputs and outputs are config keys of one shared [io] section (io.store, io.classifier, io.editor, io.edited,
// ...), so one INI file names every file of a whole run (jobs/chain_synth.ini); each stage's flags (--store,
// --out, ...) are aliases that win over the file. Every stage that writes leaves `<run>/<stage>.manifest.json`
// (pipeline/run_manifest.h) naming its inputs and outputs with their hashes.
#pragma once
#include <boost/program_options.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/run_lock.h"
#include "dist/communicator.h"
#include "dist/process_context.h"
#include "pipeline/stage_run.h"

namespace s3e {

class RunManifest;

class Stage {
 public:
  Stage(std::string name, std::string summary);

  // Keys this stage reads from the config (the common run.* keys are already there).
  ConfigSchema& schema() { return schema_; }
  // Flags of this stage beyond the common ones.
  boost::program_options::options_description& options() { return options_; }
  // Positional arguments: `name` repeated up to `max_count` times (-1: unlimited).
  void add_positional(const std::string& name, int max_count, const std::string& help);

  // Declares a file the stage reads (input) or writes (output): flag `--<flag>` as an alias of config key
  // `io.<key>`. Inputs are hashed into the manifest when the stage starts, outputs when it ends.
  enum class Io { input, output };
  void add_io(const std::string& flag, const std::string& key, Io direction, const std::string& help);
  // Flag `--<flag>` as a shorthand of config key `key` (as --seed is of run.seed); a repeatable flag's values are
  // joined with ", " (e.g. --edit smile=1 --edit age=-1 -> edit.recipe = "smile=1, age=-1").
  void add_alias(const std::string& flag, const std::string& key, const std::string& help, bool repeatable = false);
  // Flag `--<flag>` without a value that sets the bool config key `key` to true.
  void add_switch(const std::string& flag, const std::string& key, const std::string& help);
  // Item stages (their schema has item_run_add_config's keys): --shard I/N and --merge-tasks (pipeline/merge_tasks.h).
  void add_item_run_options();
  // The path of io.<key> ("" when not given).
  std::string io(const std::string& key) const;
  // The same, or a UsageError telling how to give it.
  std::string io_required(const std::string& key) const;
  // io.<key>, or `default_name` inside the run folder when not given (the value is then recorded as the default).
  std::filesystem::path io_output(const std::string& key, const std::string& default_name);

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

  // Ends the stage: rank 0 hashes the outputs and writes the manifest with the outcome of `exit_code`
  // (0 completed, 3 items failed). Returns exit_code. A Stage destroyed by an exception writes "failed" / "stopped".
  int finish(int exit_code);
  ~Stage();

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
  struct IoDecl {
    std::string flag, key;
    Io direction;
  };
  std::vector<IoDecl> io_;
  std::vector<std::pair<std::string, std::string>> aliases_;   // flag -> config key
  std::vector<std::pair<std::string, std::string>> switches_;  // flag -> bool config key
  std::unique_ptr<RunManifest> manifest_;  // rank 0 of a stage that writes
  bool fresh_ = false;
  bool read_only_ = false;
};

}  // namespace s3e
