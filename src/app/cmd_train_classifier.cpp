// cmd_train_classifier.cpp — `s3editor train-classifier`: parses its options and runs
// pipeline_train_classifier_run (pipeline/train_classifier.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/train_classifier.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int run_train_classifier(int argc, char** argv) {
  Stage stage("train-classifier", "Train the latent classifier (LCNet) data-parallel on a latent store.");
  stage.options().add_options()
      ("store", po::value<std::string>()->required(), "latent store (.h5) with labels")
      ("out", po::value<std::string>()->default_value(""), "classifier file (default <run-dir>/classifier/classifier.pt)");
  pipeline_train_classifier_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  TrainClassifierOptions o{stage.run()};
  o.store = stage.vars()["store"].as<std::string>();
  o.out = stage.output_path("out", "classifier/classifier.pt");
  return pipeline_train_classifier_run(stage.comm(), o);
}

CommandRegistration registration("train-classifier", "train the latent classifier (LCNet) data-parallel",
                                 run_train_classifier);

}  // namespace
}  // namespace s3e
