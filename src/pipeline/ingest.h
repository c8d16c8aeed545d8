// pipeline/ingest.h — `s3editor ingest`: face videos and photos into a latent store (docs/cli.md, "ingest").
// Inputs (folders, list files, globs, files; pipeline/ingest_inputs.h) are cut into work items (input, frame
// range) that the work queue hands out over the ranks, largest first; each item is decoded, tracked, aligned and
// encoded with the chosen backbone (pipeline/ingest_item.h) and committed through the item ledger, so a killed or
// requeued run resumes without redoing finished items, on any rank count, and a bad input fails alone with its
// reason (<run>/failed.csv; exit code 3 when some items failed). Rank 0 then writes the store index
// (pipeline/ingest_index.h).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct IngestOptions {
  StageRun run;
  std::vector<std::string> inputs;  // folders, list files, globs, files
  std::filesystem::path out;        // the store index
  bool retry_failed = false;
};

void pipeline_ingest_add_config(ConfigSchema& schema);
int pipeline_ingest_run(Communicator& comm, const IngestOptions& options);

}  // namespace s3e
