// pipeline/faces.h — the faces stage's driver: the face stack on one photo or video (JSON + overlay).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct FacesOptions {
  StageRun run;
  std::vector<std::string> inputs;  // the image or video (exactly one)
  std::string json_out;  // empty: <run-dir>/faces.json
  std::string overlay_out;  // empty: <run-dir>/faces_overlay.png or .mp4
};

// Config keys of the stage (its section of the INI file).
void pipeline_faces_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_faces_run(Communicator& comm, const FacesOptions& options);

}  // namespace s3e
