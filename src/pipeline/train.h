// pipeline/train.h — the train stage's driver: trains an editor data-parallel on a latent store (see pipeline/train.cpp).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct TrainOptions {
  StageRun run;
  std::string store;  // latent store (.h5)
  std::string classifier;  // classifier.pt from train-classifier
  std::filesystem::path out;  // editor folder
};

// Config keys of the stage (its section of the INI file).
void pipeline_train_add_config(ConfigSchema& schema);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_train_run(Communicator& comm, const TrainOptions& options);

}  // namespace s3e
