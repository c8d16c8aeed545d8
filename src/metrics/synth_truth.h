// synth_truth.h — the synthetic world's ground truth (docs/formats.md, "s3editor.synth_truth") as the metrics
// use it: unit directions d_a, the mean latent, the region of every dim, each attribute's target and leak region,
// and the world's attribute_scale and label_threshold (from the file's config_ini, or its `model` text).
// For metrics only: nothing that trains may read this file (docs/synth.md, "Fairness rules").
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace s3e {

class LatentStore;

struct SynthTruth {
  std::filesystem::path path;
  std::vector<std::string> attribute_names;
  torch::Tensor directions;     // [A, D] float, unit rows
  torch::Tensor coefficients;   // [A, D] float: (D D^T)^-1 D, the least-squares coordinates on span{d_a}
  torch::Tensor mean;           // [D]
  torch::Tensor region_of_dim;  // [D] long, -1 = no region
  torch::Tensor target_region;  // [A] long
  torch::Tensor leak_region;    // [A] long
  double attribute_scale = 3.0;
  double label_threshold = 0.0;
  int64_t num_attributes() const { return directions.size(0); }
  int64_t dim() const { return directions.size(1); }
};

// Builds the truth from its parts (tests) and precomputes the least-squares coefficients.
SynthTruth synth_truth_make(torch::Tensor directions, torch::Tensor mean, torch::Tensor region_of_dim,
                            torch::Tensor target_region, torch::Tensor leak_region, double attribute_scale,
                            double label_threshold);

// Loads `<stem>.truth.h5`. Throws DataError naming the file when it is not a truth file or lacks what is needed.
SynthTruth synth_truth_load(const std::filesystem::path& path);

// The truth file of a store: `explicit_path` when given, else the store's `truth_file` attribute resolved next to
// the store; empty when neither exists (a store without ground truth).
std::filesystem::path synth_truth_path_for(const LatentStore& store, const std::string& explicit_path);

}  // namespace s3e
