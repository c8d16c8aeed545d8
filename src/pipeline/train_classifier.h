// pipeline/train_classifier.h — the train-classifier stage's driver: trains the latent classifier data-parallel on a latent store.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct TrainClassifierOptions {
  StageRun run;
  std::string store;  // latent store (.h5) with labels
  std::filesystem::path out;  // classifier file
};

// Config keys of the stage (its section of the INI file).
void pipeline_train_classifier_add_config(ConfigSchema& schema);
// classifier.rows "A-B": the fractions [A, B) of the training split's rows the classifier trains on (0 <= A < B <= 1);
// UsageError naming the key otherwise.
std::pair<double, double> classifier_rows_parse(const std::string& text);
// Runs the stage on every rank of `comm`. Returns the process exit code.
int pipeline_train_classifier_run(Communicator& comm, const TrainClassifierOptions& options);

}  // namespace s3e
