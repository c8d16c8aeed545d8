// pipeline/contact_sheet.h — the contact-sheet stage's driver: a grid of frames sampled evenly from a video.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct ContactSheetStageOptions {
  StageRun run;
  std::vector<std::string> videos;  // the video (exactly one)
  int frames;
  int columns;
  int tile_width;
  std::filesystem::path out;  // PNG output
};

// Config keys of the stage (its section of the INI file).
void pipeline_contact_sheet_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_contact_sheet_run(Communicator& comm, const ContactSheetStageOptions& options);

}  // namespace s3e
