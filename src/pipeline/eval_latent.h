// pipeline/eval_latent.h — the eval-latent stage's driver: evaluates an editor in latent space on the held-out rows.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct EvalLatentOptions {
  StageRun run;
  std::string store;
  std::string classifier;
  std::string editor;
  std::string truth;  // empty: the store's truth_file
  std::string judge;  // second classifier (empty: none)
  std::filesystem::path out;  // metrics JSON; CSV next to it
};

// Config keys of the stage (its section of the INI file).
void pipeline_eval_latent_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_eval_latent_run(Communicator& comm, const EvalLatentOptions& options);

}  // namespace s3e
