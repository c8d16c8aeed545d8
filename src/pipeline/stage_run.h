// stage_run.h — what every stage driver (pipeline_<stage>_run) is given besides its own inputs: the stage's name,
// its run folder, the effective config and whether to redo finished work. app/stage.h fills it from the command
// line; tests fill it from a ConfigSchema of their own (config_resolve), so drivers run without a CLI.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/config.h"

namespace s3e {

struct StageRun {
  std::string stage;                // subcommand name, e.g. "train": names logs and checkpoints
  std::filesystem::path run_dir;    // exists, with logs/ inside
  Config config;                    // effective config (CLI > files > defaults); its schema must outlive the run
  bool fresh = false;               // redo work the run folder already holds

  uint64_t seed() const { return static_cast<uint64_t>(config.get_int("run.seed")); }
  int threads() const { return static_cast<int>(config.get_int("run.threads")); }
};

}  // namespace s3e
