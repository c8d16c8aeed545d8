// pipeline/inspect.h — the inspect stage's driver: describes store and truth files (schema, columns, shapes, NaN/Inf scan).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct InspectOptions {
  StageRun run;
  std::vector<std::string> files;  // store or truth files
  bool json;  // JSON instead of text
  bool no_scan;  // skip the NaN/Inf scan
};

// Config keys of the stage (its section of the INI file).
void pipeline_inspect_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_inspect_run(Communicator& comm, const InspectOptions& options);

}  // namespace s3e
