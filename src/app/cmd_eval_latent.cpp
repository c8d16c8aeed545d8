// cmd_eval_latent.cpp — `s3editor eval-latent`: parses its options and runs pipeline_eval_latent_run (pipeline/eval_latent.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/eval_latent.h"

namespace s3e {
namespace {

int run_eval_latent(int argc, char** argv) {
  Stage stage("eval-latent",
              "Judge what `edit --protocol flip-each` wrote, in latent space: success, preservation, identity, "
              "locality, over-editing, drift (docs/metrics.md).");
  stage.add_io("edited", "edited", Stage::Io::input, "edited store written by edit --protocol flip-each");
  stage.add_io("store", "store", Stage::Io::input, "its source store (default: the one the edited store names)");
  stage.add_io("classifier", "classifier", Stage::Io::input,
               "the editor's classifier (default: the one the edited store names, checked by SHA-256)");
  stage.add_io("truth", "truth", Stage::Io::input,
               "ground-truth file (default: the source store's truth_file next to it, for synth stores)");
  stage.add_io("judge", "judge", Stage::Io::input,
               "second classifier judging success where there is no ground truth (trained with another seed; "
               "required without ground truth)");
  stage.add_io("out", "metrics", Stage::Io::output,
               "metrics JSON (default <run-dir>/metrics.json); the CSV summary goes next to it as <stem>.csv");
  pipeline_eval_latent_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  EvalLatentOptions o{stage.run()};
  o.edited = stage.io_required("edited");
  o.store = stage.io("store");
  o.classifier = stage.io("classifier");
  o.truth = stage.io("truth");
  o.judge = stage.io("judge");
  o.out = stage.io_output("metrics", "metrics.json");
  return stage.finish(pipeline_eval_latent_run(stage.comm(), o));
}

CommandRegistration registration("eval-latent", "judge an edited store in latent space (success, identity, ...)",
                                 run_eval_latent, pipeline_eval_latent_add_config);

}  // namespace
}  // namespace s3e
