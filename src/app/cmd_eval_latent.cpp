// cmd_eval_latent.cpp — `s3editor eval-latent`: parses its options and runs pipeline_eval_latent_run (pipeline/eval_latent.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/eval_latent.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int run_eval_latent(int argc, char** argv) {
  Stage stage("eval-latent",
              "Evaluate an editor in latent space on the held-out rows: success, preservation, identity, locality, "
              "over-editing, drift (docs/metrics.md).");
  stage.options().add_options()
      ("store", po::value<std::string>()->required(), "latent store (.h5) the editor was trained on")
      ("classifier", po::value<std::string>()->required(), "the classifier the editor was trained with (classifier.pt)")
      ("editor", po::value<std::string>()->required(), "editor folder (editor.h5 + editor_weights.pt)")
      ("truth", po::value<std::string>()->default_value(""),
       "ground-truth file (default: the store's truth_file next to it, for synth stores)")
      ("judge", po::value<std::string>()->default_value(""),
       "second classifier judging success where there is no ground truth (trained with another seed; required "
       "without ground truth)")
      ("out", po::value<std::string>()->default_value(""),
       "metrics JSON (default <run-dir>/metrics.json); the CSV summary row goes next to it as <stem>.csv");
  pipeline_eval_latent_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  EvalLatentOptions o{stage.run()};
  o.store = stage.vars()["store"].as<std::string>();
  o.classifier = stage.vars()["classifier"].as<std::string>();
  o.editor = stage.vars()["editor"].as<std::string>();
  o.truth = stage.vars()["truth"].as<std::string>();
  o.judge = stage.vars()["judge"].as<std::string>();
  o.out = stage.output_path("out", "metrics.json");
  return pipeline_eval_latent_run(stage.comm(), o);
}

CommandRegistration registration("eval-latent", "evaluate an editor in latent space (success, identity, locality, ...)",
                                 run_eval_latent);

}  // namespace
}  // namespace s3e

