// editor_model.h — the latent editors, all with one interface: z' = z + g * M(z, e) on the editable part z of a
// (normalised) latent, for an attribute with embedding e and signed strength g, routed to experts by weights w:
//   linear      M = scale * e                                  (the classifier-direction edit; nothing learned)
//   lt_linear   M = W_l z_l + b_l per editable layer l, one transform per attribute (Latent Transformer: K = A,
//               equalised learning rate)
//   region_mlp  M = sum_k w_k W2_k act(W1_k [z; e] + b1_k), K experts whose hidden neurons are split into region
//               blocks; block r writes only the dims of region r (W2 is block-masked), so neuron h of expert k is a
//               zero-invariant group (row h of W1, b1[h], column h of W2) that the group-sparse optimiser can remove.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "editor/region_map.h"

namespace s3e {

struct EditorSpec {
  std::string transform = "region_mlp";  // linear | lt_linear | region_mlp
  int64_t edit_dim = 0;                  // De = editable layers x channels
  int64_t layer_channels = 0;            // channels per layer (lt_linear's per-layer maps)
  int num_experts = 1;
  int64_t hidden_total = 1920;           // hidden neurons over all experts (capacity constant across K)
  double linear_scale = 1.0;             // the linear edit's step per unit strength
  double lr_mul = 1.0;                   // equalised learning rate multiplier (lt_linear)
  RegionMap regions;                     // region_mlp only
};

class EditorModelImpl : public torch::nn::Module {
 public:
  explicit EditorModelImpl(EditorSpec spec);

  // z [B, De], e [B, De] unit embeddings, g [B], route [B, K] routing weights (one-hot for hard routing).
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& g,
                        const torch::Tensor& route);
  // The edit M alone (before scaling by g).
  torch::Tensor delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route);

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

 private:
  EditorSpec spec_;
  int64_t hidden_per_expert_ = 0;
};
TORCH_MODULE(EditorModel);

// Number of parameters a model would have with pruned groups physically removed.
int64_t editor_parameter_count(EditorModel& model, bool pruned_removed);

}  // namespace s3e
