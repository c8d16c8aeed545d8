// synth_truth.h — the synthetic world's ground truth (docs/formats.md, "s3editor.synth_truth") as the metrics
// use it: unit directions d_a, the mean latent, the region of every dim, each attribute's target and leak region,
// and the world's attribute_scale and label_threshold (from the file's config_ini, or its `model` text).
// For metrics only: nothing that trains may read this file (docs/synth.md, "Fairness rules").
//
// The honest preset's world is not linear (docs/synth.md, "The honest preset"): x = mean + U z + k sum_a s_a d_a(z)
// + noise with d_a(z) = cos t_a(z) u_a + sin t_a(z) v_a, t_a(z) = rotation_max tanh(<w_a, z> / identity_scale).
// Its truth file holds U, u, v, w and the region subspaces, and synth_truth_strengths evaluates s(x) on any latent:
// z = U (x - mean), then least squares of x - mean on {k d_a(z)}.
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
  torch::Tensor thresholds;     // [A] float: attribute a is present when s_a > thresholds[a] (additive: label_threshold)
  // Honest preset only (undefined tensors otherwise).
  std::string preset = "additive";
  torch::Tensor rotation_directions;  // [A, D] float, v_a
  torch::Tensor rotation_weights;     // [A, k] float, w_a
  torch::Tensor identity_basis;       // [k, D] float, orthonormal rows U
  torch::Tensor region_bases;         // [R, m, D] float, orthonormal rows
  torch::Tensor basis_gram;           // [2A, 2A] double: [u; v] [u; v]^T
  double rotation_max = 0, identity_scale = 1;
  bool honest() const { return preset == "honest"; }
  int64_t num_attributes() const { return directions.size(0); }
  int64_t dim() const { return directions.size(1); }
};

// Builds the truth from its parts (tests) and precomputes the least-squares coefficients.
SynthTruth synth_truth_make(torch::Tensor directions, torch::Tensor mean, torch::Tensor region_of_dim,
                            torch::Tensor target_region, torch::Tensor leak_region, double attribute_scale,
                            double label_threshold);

// Adds the honest preset's parts to a truth (tests build one by hand; synth_truth_load reads them from the file).
void synth_truth_set_honest(SynthTruth& truth, torch::Tensor rotation_directions, torch::Tensor rotation_weights,
                            torch::Tensor identity_basis, torch::Tensor region_bases, torch::Tensor thresholds,
                            double rotation_max, double identity_scale);

// True strengths [B, A] of raw latents x [B, D]: additive, (D D^T)^-1 D (x - mean) / attribute_scale; honest, the
// least-squares coordinates of x - mean on {attribute_scale d_a(z(x))}. Exact (up to float rounding) on a noise-free
// latent of the world.
torch::Tensor synth_truth_strengths(const SynthTruth& truth, const torch::Tensor& x);
// Identity coordinates [B, k] of raw latents (honest only): U (x - mean).
torch::Tensor synth_truth_identity_coords(const SynthTruth& truth, const torch::Tensor& x);

// Loads `<stem>.truth.h5`. Throws DataError naming the file when it is not a truth file or lacks what is needed.
SynthTruth synth_truth_load(const std::filesystem::path& path);

// The truth file of a store: `explicit_path` when given, else the store's `truth_file` attribute resolved next to
// the store; empty when neither exists (a store without ground truth).
std::filesystem::path synth_truth_path_for(const LatentStore& store, const std::string& explicit_path);

}  // namespace s3e
