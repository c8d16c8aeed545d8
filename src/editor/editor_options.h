// editor_options.h — every switch of the editor trainer (config sections [editor], [self_train], [loss],
// [sparsity], [train]), read once from the config. Each ablation of docs/algorithms.md is one of these switches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace s3e {

struct EditorOptions {
  // [editor]
  std::string transform = "region_mlp";   // linear | linear_masked | linear_orthogonal | lt_linear | region_mlp
  std::string mask_regions = "targets";   // linear_masked: targets (as the over-editing score's) | energy
  double mask_energy_share = 0.8;         // linear_masked, energy: share of |e_a|^2 the kept regions hold
  std::string expert_mode = "refine";     // region_mlp: refine (z_lin + g M(z_lin, c e, g)) | scratch (z + g M(z, e))
  std::string linear_scale = "data";      // the linear edit's step s: data (2 std of <z, e_a>) | sqrt_dim | a number
  int clusters = 5;                       // K; 0 = one expert per training attribute (K = A)
  std::string cluster_feature = "energy"; // energy (squared embedding) | direction (signed embedding)
  std::string routing = "hard";           // hard | soft
  double soft_temperature = 0.1;
  int64_t hidden_total = 1920;
  double region_dominance = 0.5;
  int regions = 0;                        // data-derived region map: attribute groups (0 = the routing clusters)
  double target_energy = 0.8;             // target regions of e_a: the fewest holding this share of its energy
  std::vector<int> edit_layers;           // of the latent's layers; flat latents: {0}
  bool edit_layers_default = true;        // the key was not set: layers beyond the latent's are dropped
  std::vector<int> heldout_attributes;    // never trained on; edited through routing (unseen edits)
  int64_t embedding_samples = 512;
  // A second classifier file whose gradients give the embeddings of `embedding_attributes` (attributes the main
  // classifier never trained: classifier.ignore_attributes); empty = none. Both or neither are set.
  std::string embedding_classifier;
  std::vector<int> embedding_attributes;
  // [self_train]
  bool self_training = true;
  double self_share = 0.5, g_min = 0.2, g_max = 1.0, input_edit_prob = 0.5, input_edit_max = 1.0;
  // [loss]
  double w_faith = 1, w_recon = 10, w_reg = 1, w_identity = 0, w_cycle = 0;
  // [sparsity]
  double sparsity_rate = 0.1;
  int64_t sparsity_start = 100, sparsity_periods = 4, sparsity_period_steps = 50;
  bool over_edit_criterion = true;
  // The unit selected: neuron (each hidden neuron of each expert) | block (each (expert, region block), whole).
  std::string sparsity_group = "neuron";
  int64_t over_edit_steps = 10;           // steps (up to each selection) whose over-editing energy is summed
  double crit_magnitude = 1, crit_avg_magnitude = 0, crit_cosine = 0, crit_taylor1 = 1, crit_taylor2 = 0,
         crit_over_edit = 1;
  // [train]
  int64_t steps = 1000, batch_size = 64;
  // > 0: the global batch, fixed whatever the rank count (per rank = this / ranks), so a run may resume on
  // another rank count and follow the same trajectory; 0: batch_size per rank.
  int64_t global_batch_size = 0;
  // weight_decay: the key's value when set; unset, 5e-4 for lt_linear (Latent Transformer's) and 0 otherwise.
  double lr = 1e-4, weight_decay = 0;
  // per_attribute: Latent Transformer's protocol: the steps are split into one phase per training attribute (in
  // order); a phase's rows all edit that attribute and a fresh Adam steps only that attribute's transform. joint:
  // every row draws its attribute. Resolved from train.schedule (auto: per_attribute for lt_linear).
  bool per_attribute = false;
  int64_t checkpoint_every = 200, keep_last = 3, log_every = 20;
  int64_t stop_after_step = 0;  // stop (as if preempted, exit 75) after this step's checkpoint; 0 = off
  double validation_share = 0.1;
};

void editor_add_config(ConfigSchema& schema);
EditorOptions editor_options_from_config(const Config& config);
// editor.linear_scale's value for a context: data -> data_scale, sqrt_dim -> sqrt(edit_dim), else the number
// (UsageError naming the key when it is none of these).
double editor_linear_scale_resolve(const std::string& text, double data_scale, int64_t edit_dim);

}  // namespace s3e
