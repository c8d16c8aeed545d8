// cmd_train.cpp — `s3editor train`: parses its options and runs pipeline_train_run (pipeline/train.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/train.h"


namespace s3e {
namespace {

int run_train(int argc, char** argv) {
  Stage stage("train", "Train a latent editor (linear, Latent Transformer, S3Editor) data-parallel on a latent store.");
  stage.add_io("store", "store", Stage::Io::input, "latent store (.h5)");
  stage.add_io("classifier", "classifier", Stage::Io::input, "latent classifier from train-classifier");
  stage.add_io("out", "editor", Stage::Io::output, "editor folder (default <run-dir>/editor)");
  pipeline_train_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  TrainOptions o{stage.run()};
  o.store = stage.io_required("store");
  o.classifier = stage.io_required("classifier");
  o.out = stage.io_output("editor", "editor");
  return stage.finish(pipeline_train_run(stage.comm(), o));
}

CommandRegistration registration("train", "train an editor (linear, Latent Transformer, S3Editor) data-parallel",
                                 run_train,
                                 pipeline_train_add_config);

}  // namespace
}  // namespace s3e
