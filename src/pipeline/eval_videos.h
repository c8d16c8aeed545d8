// pipeline/eval_videos.h — `s3editor eval`: judges the videos that `edit --videos` wrote against their sources with
// the face nets (docs/cli.md, "eval"; docs/metrics.md, "Videos"): identity (ID, TL-ID, TG-ID), faithfulness and
// success of the recipe measured on the re-detected output, preservation of the other measures, locality of the
// landmark and pixel change, flicker and landmark jitter, side judges. Each video is one work item
// (pipeline/eval_video_item.h) handed out over the ranks and committed through the item ledger (resumable; a bad
// video fails alone); rank 0 then aggregates the per-video results in item order, so any rank count gives the same
// numbers, and writes the metrics JSON (schema s3editor.video_metrics) and a CSV next to it.
#pragma once
#include <filesystem>
#include <string>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct EvalVideosOptions {
  StageRun run;
  std::string edited;         // the index edit --videos wrote (<edit run>/edited.h5)
  std::filesystem::path out;  // metrics JSON; CSV next to it (<stem>.csv)
  bool retry_failed = false;
};

void pipeline_eval_videos_add_config(ConfigSchema& schema);
int pipeline_eval_videos_run(Communicator& comm, const EvalVideosOptions& options);

}  // namespace s3e
