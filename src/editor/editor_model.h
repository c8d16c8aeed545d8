// editor_model.h — the latent editors, all with one interface: z' = z + g * M(z, e) on the editable part z of a
// (normalised) latent, for an attribute with embedding e and signed strength g, routed to experts by weights w:
//   linear      M = s * e                                      (the classifier-direction edit; nothing learned)
//   lt_linear   M = W_l z_l + b_l per editable layer l, one transform per attribute (Latent Transformer: K = A,
//               equalised learning rate lr_mul / sqrt(C) on stored weights initialised Xavier-uniform, as LT's nets.py)
//   region_mlp  K experts E_k(x) = W2_k act(W1_k x + b1_k) whose hidden neurons are split into region blocks; block r
//               writes only the dims of region r (W2 is block-masked), so neuron h of expert k is a zero-invariant
//               group (row h of W1, b1[h], column h of W2) that the group-sparse optimiser can remove. Two modes:
//     refine    (default; the paper's x^ = T(Denorm(Norm(x) + g a))): z_lin = z + g s e, then
//               z' = z_lin + g * sum_k w_k E_k([z_lin; c e; g]), W2 initialised to zero so that an untrained expert
//               is exactly the linear edit; c = sqrt(De) brings the unit embedding to the latent's size.
//     scratch   (the first build, an ablation): z' = z + g * sum_k w_k E_k([z; e]); the expert makes the whole edit.
//   linear_masked      M = s * (m_a . e_a) / |m_a . e_a|^2: the linear edit kept only on a's target regions (mask m_a,
//                      linear_masked_mask), rescaled so that its step along e_a, <M, e_a>, is the linear edit's s
//   linear_orthogonal  M = s * E^+[:, a]: the column of the pseudo-inverse of the embedding matrix E [A, De], i.e.
//                      e_a's component orthogonal to every other embedding, scaled so that <M, e_b> = s * delta_ab
// The two last learn nothing either; their per-attribute directions are a buffer of the model (saved with the
// weights) and delta looks the attribute up by its embedding e (which must be one of spec.embeddings' rows).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "editor/region_map.h"

namespace s3e {

struct EditorSpec {
  std::string transform = "region_mlp";  // linear | linear_masked | linear_orthogonal | lt_linear | region_mlp
  int64_t edit_dim = 0;                  // De = editable layers x channels
  int64_t layer_channels = 0;            // channels per layer (lt_linear's per-layer maps)
  int num_experts = 1;
  int64_t hidden_total = 1920;           // hidden neurons over all experts (capacity constant across K)
  double linear_scale = 1.0;             // the linear edit's step per unit strength (linear, refine's z_lin)
  // region_mlp only. The struct's default is the first build's mode, so hand-built specs and editors saved before
  // the key existed keep their meaning; the trainer's default (editor.expert_mode) is refine.
  std::string expert_mode = "scratch";   // refine | scratch
  double embedding_scale = 1.0;          // c: the expert sees c * e (refine: sqrt(De))
  double lr_mul = 1.0;                   // equalised learning rate multiplier (lt_linear)
  RegionMap regions;                     // region_mlp, linear_masked
  // linear_masked / linear_orthogonal: every attribute's unit embedding [A, De] (the context's) and, for
  // linear_masked, the expert each attribute is routed to (its target regions are that expert's) or the energy rule.
  torch::Tensor embeddings;
  std::vector<int> expert_of_attribute;
  std::string mask_regions = "targets";  // targets (RegionMap::attribute_targets, else its expert's) | energy
  double mask_energy_share = 0.8;        // energy: the fewest regions holding at least this share of |e_a|^2
};

// Whether a transform has parameters to train (lt_linear, region_mlp); the linear family is made from the context.
bool editor_transform_learns(const std::string& transform);
// linear_masked's mask [A, De] (1 = inside attribute a's target regions). targets: a's target regions as the
// over-editing criterion defines them (RegionMap::attribute_targets, measured from e_a's energy; a map without them:
// those of a's expert, RegionMap::is_target); energy: the fewest regions, by decreasing energy of e_a, whose energy
// reaches mask_energy_share of |e_a|^2 (the same rule with a share of its own).
torch::Tensor linear_masked_mask(const EditorSpec& spec);
// The per-attribute edit per unit strength [A, De] of linear_masked / linear_orthogonal (see the file comment). A
// masked embedding with no energy left keeps the unmasked direction (the linear edit). Computed in double.
torch::Tensor linear_directions_make(const EditorSpec& spec);

class EditorModelImpl : public torch::nn::Module {
 public:
  explicit EditorModelImpl(EditorSpec spec);

  // z [B, De], e [B, De] unit embeddings, g [B], route [B, K] routing weights (one-hot for hard routing).
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& g,
                        const torch::Tensor& route);
  // The edit per unit strength: forward = z + g * delta. Refine mode needs g (the expert sees z_lin and g); the
  // other transforms ignore it.
  torch::Tensor delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route,
                      const torch::Tensor& g = {});
  bool refines() const { return spec_.transform == "region_mlp" && spec_.expert_mode == "refine"; }
  // region_mlp: the experts' input rows [B, W1 width] for edits (z, e, g): refine [z + g s e; c e; g], scratch [z; e].
  torch::Tensor expert_input(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& g) const;
  // Hidden activations of expert k (masked groups give exactly zero) for input rows x [b, W1 width].
  torch::Tensor expert_hidden(int k, const torch::Tensor& x) const;

  const EditorSpec& spec() const { return spec_; }
  int64_t hidden_per_expert() const { return hidden_per_expert_; }
  int64_t num_groups() const { return spec_.transform == "region_mlp" ? spec_.num_experts * hidden_per_expert_ : 0; }
  // Region block of hidden neuron h (same for every expert).
  int block_of_neuron(int64_t h) const;

  // region_mlp parameters, per expert.
  std::vector<torch::Tensor> w1, b1, w2;
  torch::Tensor w2_mask;  // [De, H] buffer: 1 where region(d) == block(h)
  // lt_linear parameters, per attribute/expert: [layers, C, C] and [layers, C].
  std::vector<torch::Tensor> lt_weight, lt_bias;
  // Group masks [K, H] (1 = alive), kept in sync by the sparse optimiser and applied in forward.
  torch::Tensor group_mask;
  // [K, H] share of each group's edit energy measured outside its rows' target regions (group_sparsifier.h), set
  // by the sparsifier at its selections; not a buffer (editor.h5 stores it), undefined when never measured.
  torch::Tensor over_edit_share;
  // linear_masked / linear_orthogonal: edit per unit strength of each attribute [A, De] (a buffer: saved).
  torch::Tensor linear_directions;

 private:
  // sum_k w_k E_k(x) over the rows each expert has (region_mlp).
  torch::Tensor experts(const torch::Tensor& x, const torch::Tensor& route) const;
  EditorSpec spec_;
  int64_t hidden_per_expert_ = 0;
};
TORCH_MODULE(EditorModel);

// Number of parameters a model would have with pruned groups physically removed.
int64_t editor_parameter_count(EditorModel& model, bool pruned_removed);

}  // namespace s3e
