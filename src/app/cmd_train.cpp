// cmd_train.cpp — `s3editor train`: parses its options and runs pipeline_train_run (pipeline/train.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/train.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int run_train(int argc, char** argv) {
  Stage stage("train", "Train a latent editor (linear, Latent Transformer, S3Editor) data-parallel on a latent store.");
  stage.options().add_options()
      ("store", po::value<std::string>()->required(), "latent store (.h5); only its data file is read")
      ("classifier", po::value<std::string>()->required(), "latent classifier from train-classifier")
      ("out", po::value<std::string>()->default_value(""), "editor folder (default <run-dir>/editor)");
  pipeline_train_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  TrainOptions o{stage.run()};
  o.store = stage.vars()["store"].as<std::string>();
  o.classifier = stage.vars()["classifier"].as<std::string>();
  o.out = stage.output_path("out", "editor");
  return pipeline_train_run(stage.comm(), o);
}

CommandRegistration registration("train", "train an editor (linear, Latent Transformer, S3Editor) data-parallel",
                                 run_train);

}  // namespace
}  // namespace s3e
