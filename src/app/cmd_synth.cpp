// cmd_synth.cpp — `s3editor synth`: parses its options and runs pipeline_synth_run (pipeline/synth.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/synth.h"


namespace s3e {
namespace {

int run_synth(int argc, char** argv) {
  Stage stage("synth", "Generate a synthetic latent world with exact ground truth (docs/synth.md).");
  stage.add_io("out", "store", Stage::Io::output, "output store (default <run-dir>/store/synth.h5; ground truth goes "
                                                  "to <stem>.truth.h5 next to it)");
  pipeline_synth_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  SynthOptions o{stage.run()};
  o.out = stage.io_output("store", "store/synth.h5");
  return stage.finish(pipeline_synth_run(stage.comm(), o));
}

CommandRegistration registration("synth", "generate a synthetic latent world with exact ground truth", run_synth,
                                 pipeline_synth_add_config);

}  // namespace
}  // namespace s3e

