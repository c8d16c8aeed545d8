// train_support.h — plumbing shared by the data-parallel trainers (train-classifier, train): the [dist] config
// keys and communicator, batches read from the latent store, normalisation statistics, torch objects to and from
// checkpoint bytes (dist/torch_bytes.h), and the JSONL training log that the report stage plots.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "dist/torch_bytes.h"

namespace s3e {

class LatentStore;

void train_add_dist_config(ConfigSchema& schema);
std::unique_ptr<Communicator> train_make_comm(const Config& config);

// Rows of the store as a float tensor [n, width] (latents flattened).
torch::Tensor store_read_tensor(const LatentStore& store, const std::string& column, const std::vector<int64_t>& rows);

// Per-dim mean and std (std clamped at 1e-6) over the first `max_rows` of rows [0, rows); identical on every rank.
std::pair<torch::Tensor, torch::Tensor> store_norm_stats(const LatentStore& store, int64_t rows, int64_t max_rows);


// Appends JSON lines to <file> on rank 0; on resume keeps only the lines of steps <= the resumed step.
class TrainLog {
 public:
  TrainLog(std::filesystem::path file, bool enabled, int64_t resumed_step);
  void write(const std::string& json_line);

 private:
  std::filesystem::path file_;
  bool enabled_;
};

}  // namespace s3e
