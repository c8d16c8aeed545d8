// pipeline/eval_latent.h — the eval-latent stage's driver: judges an edited store (what `edit --protocol
// flip-each` wrote) against its source store, in latent space (docs/metrics.md).
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
  std::string edited;      // the edited store
  std::string store;       // its source ("": the one the edited store names)
  std::string classifier;  // the editor's classifier ("": the one the edited store names, checked by its SHA-256)
  std::string truth;       // empty: the source store's truth_file
  std::string judge;       // second classifier (empty: none)
  std::filesystem::path out;  // metrics JSON; CSV next to it
};

// Config keys of the stage (its section of the INI file).
void pipeline_eval_latent_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_eval_latent_run(Communicator& comm, const EvalLatentOptions& options);

}  // namespace s3e
