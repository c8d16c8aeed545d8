// pipeline/export_npy.h — the export-npy stage's driver: exports a latent store as Latent Transformer .npy files.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct ExportNpyOptions {
  StageRun run;
  std::vector<std::string> stores;  // the store (exactly one)
  std::filesystem::path out_dir;  // output folder
};

// Config keys of the stage (its section of the INI file).
void pipeline_export_npy_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_export_npy_run(Communicator& comm, const ExportNpyOptions& options);

}  // namespace s3e
