// pipeline/probe.h — the probe stage's driver: what a video, image or image sequence holds, checked against the media limits.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct ProbeOptions {
  StageRun run;
  std::vector<std::string> files;  // the file (exactly one)
  bool decode;  // also decode every frame
  std::string out;  // JSON output (empty: stdout)
};

// Config keys of the stage (its section of the INI file).
void pipeline_probe_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_probe_run(Communicator& comm, const ProbeOptions& options);

}  // namespace s3e
