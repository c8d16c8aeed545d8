// pipeline/synth.h — the synth stage's driver: generates a synthetic latent world as a sharded latent store plus its ground truth.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct SynthOptions {
  StageRun run;
  std::filesystem::path out;  // output store; truth goes to <stem>.truth.h5
};

// Config keys of the stage (its section of the INI file).
void pipeline_synth_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_synth_run(Communicator& comm, const SynthOptions& options);

}  // namespace s3e
