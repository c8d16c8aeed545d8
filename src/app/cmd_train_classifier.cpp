// cmd_train_classifier.cpp — `s3editor train-classifier`: parses its options and runs
// pipeline_train_classifier_run (pipeline/train_classifier.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/train_classifier.h"


namespace s3e {
namespace {

int run_train_classifier(int argc, char** argv) {
  Stage stage("train-classifier", "Train the latent classifier (LCNet) data-parallel on a latent store.");
  stage.add_io("store", "store", Stage::Io::input, "latent store (.h5) with labels");
  stage.add_io("out", "classifier", Stage::Io::output, "classifier file (default <run-dir>/classifier/classifier.pt)");
  pipeline_train_classifier_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  TrainClassifierOptions o{stage.run()};
  o.store = stage.io_required("store");
  o.out = stage.io_output("classifier", "classifier/classifier.pt");
  return stage.finish(pipeline_train_classifier_run(stage.comm(), o));
}

CommandRegistration registration("train-classifier", "train the latent classifier (LCNet) data-parallel",
                                 run_train_classifier,
                                 pipeline_train_classifier_add_config);

}  // namespace
}  // namespace s3e
