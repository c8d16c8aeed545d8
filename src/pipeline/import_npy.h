// pipeline/import_npy.h — the import-npy stage's driver: imports Latent Transformer .npy latents and labels as a sharded latent store.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct ImportNpyOptions {
  StageRun run;
  std::string latents;  // .npy latents
  std::string labels;  // .npy labels
  std::string attributes;  // attribute names file (empty: CelebA's 40)
  std::filesystem::path out;  // output store
};

// Config keys of the stage (its section of the INI file).
void pipeline_import_npy_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_import_npy_run(Communicator& comm, const ImportNpyOptions& options);

}  // namespace s3e
