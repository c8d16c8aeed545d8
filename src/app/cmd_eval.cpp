// cmd_eval.cpp — `s3editor eval`: parses its options and runs pipeline_eval_videos_run (pipeline/eval_videos.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/eval_videos.h"

namespace s3e {
namespace {

int run_eval(int argc, char** argv) {
  Stage stage("eval",
              "Judge the videos `edit --videos` wrote against their sources with the face nets: ID, TL-ID, TG-ID, "
              "faithfulness and success (re-detected), preservation, locality, flicker, jitter (docs/metrics.md).");
  stage.add_io("edited", "edited", Stage::Io::input, "the index edit --videos wrote (<edit run>/edited.h5)");
  stage.add_io("out", "metrics", Stage::Io::output,
               "metrics JSON (default <run-dir>/metrics.json); the CSV (one row per video, then `all`) goes next "
               "to it as <stem>.csv");
  stage.add_alias("identity-net", "eval.identity_net", "TorchScript identity net replacing face-api's descriptor");
  stage.options().add_options()("retry-failed", "rerun videos recorded as failed");
  stage.add_item_run_options();
  pipeline_eval_videos_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  EvalVideosOptions o{stage.run()};
  o.edited = stage.io_required("edited");
  o.out = stage.io_output("metrics", "metrics.json");
  o.retry_failed = stage.vars().count("retry-failed") > 0;
  return stage.finish(pipeline_eval_videos_run(stage.comm(), o));
}

CommandRegistration registration("eval", "judge edited videos against their sources (ID, TL-ID, TG-ID, faithfulness, "
                                 "locality, flicker)", run_eval, pipeline_eval_videos_add_config);

}  // namespace
}  // namespace s3e
