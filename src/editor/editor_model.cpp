#include "editor/editor_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace s3e {

EditorModelImpl::EditorModelImpl(EditorSpec spec) : spec_(std::move(spec)) {
  const int64_t De = spec_.edit_dim;
  const int K = spec_.num_experts;
  if (spec_.transform == "region_mlp") {
    const int R = spec_.regions.num_regions;
    hidden_per_expert_ = std::max<int64_t>(R, spec_.hidden_total / K);
    hidden_per_expert_ -= hidden_per_expert_ % R;  // equal blocks
    const int64_t H = hidden_per_expert_;
    if (static_cast<int64_t>(spec_.regions.region_of_dim.size()) != De)
      throw std::logic_error("region map does not cover the editable dims");
    auto region = torch::from_blob(spec_.regions.region_of_dim.data(), {De}, torch::kInt32).to(torch::kLong);
    // Integer division (torch's "/" on integer tensors is true division).
    auto block = torch::div(torch::arange(H, torch::kLong), H / R, "floor");
    w2_mask = register_buffer("w2_mask", region.unsqueeze(1).eq(block.unsqueeze(0)).to(torch::kFloat));
    if (spec_.expert_mode != "refine" && spec_.expert_mode != "scratch")
      throw UsageError("editor.expert_mode '" + spec_.expert_mode + "' is not one of refine, scratch");
    const bool refine = spec_.expert_mode == "refine";
    const int64_t in = refine ? 2 * De + 1 : 2 * De;  // refine also feeds g
    for (int k = 0; k < K; ++k) {
      // Kaiming-like init for the hidden layer (every input has unit scale per dim: z, c e and g).
      w1.push_back(register_parameter(fmt::format("expert{}_w1", k), torch::randn({H, in}) / std::sqrt(double(in))));
      b1.push_back(register_parameter(fmt::format("expert{}_b1", k), torch::zeros({H})));
      // Refine: zero output layer, so an untrained editor is exactly the linear edit (W1 still gets gradients once
      // W2 moves). Scratch: small output init so an untrained expert barely edits.
      w2.push_back(register_parameter(fmt::format("expert{}_w2", k),
                                      refine ? torch::zeros({De, H}) : torch::randn({De, H}) * (0.1 / std::sqrt(double(H)))));
    }
    group_mask = register_buffer("group_mask", torch::ones({K, H}));
  } else if (spec_.transform == "lt_linear") {
    const int64_t C = spec_.layer_channels, L = De / C;
    for (int k = 0; k < K; ++k) {
      // Latent Transformer's Dense_layer (nets.py): the stored weight is Xavier-uniform, U(-b, b) with
      // b = sqrt(6 / (fan_in + fan_out)) = sqrt(3 / C), and forward multiplies it by the equalised-learning-rate
      // coefficient lr_mul / sqrt(fan_in). The effective map therefore starts with std lr_mul / C: an edit about
      // 1/sqrt(C) of the latent's size. (The first build stored N(0, 1/lr_mul), an effective std of 1/sqrt(C): a
      // random map as large as the latent, that 300 steps did not undo. Our bug, not LT's protocol.)
      const double bound = std::sqrt(6.0 / double(C + C));
      lt_weight.push_back(
          register_parameter(fmt::format("lt{}_weight", k), (torch::rand({L, C, C}) * 2 - 1) * bound));
      lt_bias.push_back(register_parameter(fmt::format("lt{}_bias", k), torch::zeros({L, C})));
    }
  } else if (spec_.transform == "linear_masked" || spec_.transform == "linear_orthogonal") {
    linear_directions = register_buffer("linear_directions", linear_directions_make(spec_));
  } else if (spec_.transform != "linear") {
    throw UsageError("editor.transform '" + spec_.transform +
                     "' is not one of linear, linear_masked, linear_orthogonal, lt_linear, region_mlp");
  }
}

bool editor_transform_learns(const std::string& transform) {
  return transform == "lt_linear" || transform == "region_mlp";
}

torch::Tensor linear_masked_mask(const EditorSpec& spec) {
  if (!spec.embeddings.defined() || spec.embeddings.dim() != 2 || spec.embeddings.size(1) != spec.edit_dim)
    throw std::logic_error("linear_masked needs the context's embeddings [A, De] in the editor spec");
  const RegionMap& map = spec.regions;
  const int64_t A = spec.embeddings.size(0), De = spec.edit_dim;
  const int R = map.num_regions;
  if (static_cast<int64_t>(map.region_of_dim.size()) != De)
    throw std::logic_error("linear_masked: the region map does not cover the editable dims");
  if (spec.mask_regions != "targets" && spec.mask_regions != "energy")
    throw UsageError("editor.mask_regions '" + spec.mask_regions + "' is not one of targets, energy");
  // `energy`: the over-editing criterion's own rule for target regions (region_map.h), at this baseline's share.
  std::vector<int32_t> by_energy;
  if (spec.mask_regions == "energy") {
    auto e = spec.embeddings.to(torch::kFloat).contiguous();
    by_energy = region_targets_by_energy(std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel()),
                                         int(A), map, spec.mask_energy_share);
  }
  auto mask = torch::zeros({A, De});
  auto ma = mask.accessor<float, 2>();
  for (int64_t a = 0; a < A; ++a) {
    std::vector<char> inside(size_t(R), 0);
    if (spec.mask_regions == "targets" && map.attribute_targets.size() == size_t(A) * size_t(R)) {
      // The attribute's own measured target regions: the definition the over-editing score uses (region_map.h).
      for (int r = 0; r < R; ++r) inside[size_t(r)] = map.attribute_targets[size_t(a) * size_t(R) + size_t(r)] ? 1 : 0;
    } else if (spec.mask_regions == "targets") {
      // A map without per-attribute targets: those of the expert the attribute is routed to.
      if (static_cast<int64_t>(spec.expert_of_attribute.size()) != A)
        throw std::logic_error("linear_masked (targets) needs the expert of every attribute in the editor spec");
      for (int r = 0; r < R; ++r) inside[size_t(r)] = map.is_target(spec.expert_of_attribute[size_t(a)], r) ? 1 : 0;
    } else {
      for (int r = 0; r < R; ++r) inside[size_t(r)] = by_energy[size_t(a) * size_t(R) + size_t(r)] ? 1 : 0;
    }
    for (int64_t d = 0; d < De; ++d) ma[a][d] = inside[size_t(map.region_of_dim[size_t(d)])] ? 1.0f : 0.0f;
  }
  return mask;
}

torch::Tensor linear_directions_make(const EditorSpec& spec) {
  if (!spec.embeddings.defined() || spec.embeddings.dim() != 2 || spec.embeddings.size(1) != spec.edit_dim)
    throw std::logic_error(spec.transform + " needs the context's embeddings [A, De] in the editor spec");
  auto e = spec.embeddings.to(torch::kDouble);
  if (spec.transform == "linear_orthogonal") {
    // Columns of E^+ = E^T (E E^T)^-1: <E^+[:, a], e_b> = delta_ab when the embeddings are independent; the column is
    // e_a's component orthogonal to span{e_b, b != a}, divided by its squared norm.
    return (torch::linalg::pinv(e).t() * spec.linear_scale).to(torch::kFloat).contiguous();
  }
  // linear_masked: keep e_a on its target regions; scale so that <d_a, e_a> = s (the linear edit's step along e_a).
  auto masked = e * linear_masked_mask(spec).to(torch::kDouble);
  auto along = (masked * e).sum(1, true);  // = |m_a . e_a|^2 for a binary mask
  auto empty = along <= 1e-12 * (e * e).sum(1, true).clamp_min(1e-300);
  auto dirs = torch::where(empty, e, masked * (1.0 / along.clamp_min(1e-300)) * (e * e).sum(1, true));
  return (dirs * spec.linear_scale).to(torch::kFloat).contiguous();
}

int EditorModelImpl::block_of_neuron(int64_t h) const {
  return static_cast<int>(h / (hidden_per_expert_ / spec_.regions.num_regions));
}

torch::Tensor EditorModelImpl::expert_input(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& g) const {
  if (!refines()) return torch::cat({z, e}, 1);
  if (!g.defined()) throw std::logic_error("a refining region_mlp editor needs the strength g");
  auto gc = g.to(z.scalar_type()).unsqueeze(1);
  auto z_lin = z + gc * e * spec_.linear_scale;
  return torch::cat({z_lin, e * spec_.embedding_scale, gc}, 1);
}

torch::Tensor EditorModelImpl::expert_hidden(int k, const torch::Tensor& x) const {
  auto mask = group_mask[k];
  return torch::leaky_relu(torch::addmm(b1[k] * mask, x, (w1[k] * mask.unsqueeze(1)).t()), 0.2);
}

torch::Tensor EditorModelImpl::experts(const torch::Tensor& x, const torch::Tensor& route) const {
  auto out = torch::zeros({x.size(0), spec_.edit_dim}, x.options());
  for (int k = 0; k < spec_.num_experts; ++k) {
    auto weight = route.select(1, k);
    auto rows = weight.nonzero().squeeze(1);
    if (rows.numel() == 0) continue;  // hard routing: only the experts that have samples run
    auto mk = torch::mm(expert_hidden(k, x.index_select(0, rows)), (w2[k] * w2_mask * group_mask[k].unsqueeze(0)).t());
    out.index_add_(0, rows, mk * weight.index_select(0, rows).unsqueeze(1));
  }
  return out;
}

torch::Tensor EditorModelImpl::delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route,
                                     const torch::Tensor& g) {
  if (spec_.transform == "linear") return e * spec_.linear_scale;
  if (linear_directions.defined()) {
    // linear_masked / linear_orthogonal: the attribute is the one whose embedding e is (editor_apply and the trainer
    // pass rows of the context's embeddings).
    if (e.size(0) == 0) return torch::zeros_like(z);
    auto emb = spec_.embeddings.to(e.scalar_type());
    auto index = ((emb * emb).sum(1).unsqueeze(0) - 2 * torch::mm(e, emb.t())).argmin(1);  // nearest row
    if ((e - emb.index_select(0, index)).abs().max().item<double>() > 1e-5)
      throw std::logic_error(spec_.transform + ": an embedding that is none of the editor's attributes'");
    return linear_directions.index_select(0, index).to(z.scalar_type());
  }
  if (spec_.transform == "region_mlp") {
    auto m = experts(expert_input(z, e, g), route);
    // Refine: z' = z_lin + g M = z + g (s e + M).
    return refines() ? e * spec_.linear_scale + m : m;
  }
  auto out = torch::zeros_like(z);
  const int K = spec_.num_experts;
  const int64_t C = spec_.layer_channels, L = spec_.edit_dim / C;
  const auto scale = spec_.lr_mul / std::sqrt(double(C));
  for (int k = 0; k < K; ++k) {
    auto weight = route.select(1, k);
    auto rows = weight.nonzero().squeeze(1);
    if (rows.numel() == 0) continue;  // hard routing: only the transforms that have samples run
    auto zl = z.index_select(0, rows).view({-1, L, C}).transpose(0, 1);  // [L, b, C]
    auto dl = torch::baddbmm((lt_bias[k] * spec_.lr_mul).unsqueeze(1), zl, lt_weight[k].transpose(1, 2) * scale);
    auto mk = dl.transpose(0, 1).reshape({-1, L * C});
    out.index_add_(0, rows, mk * weight.index_select(0, rows).unsqueeze(1));
  }
  return out;
}

torch::Tensor EditorModelImpl::forward(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& g,
                                       const torch::Tensor& route) {
  return z + g.unsqueeze(1) * delta(z, e, route, g);
}

int64_t editor_parameter_count(EditorModel& model, bool pruned_removed) {
  int64_t n = 0;
  for (auto& p : model->parameters()) n += p.numel();
  if (!pruned_removed || model->spec().transform != "region_mlp") return n;
  // A removed neuron takes its W1 row (2 De, + 1 for g when refining), its bias and its W2 column (De).
  auto dead = (model->group_mask == 0).sum().item<int64_t>();
  return n - dead * (model->w1[0].size(1) + 1 + model->spec().edit_dim);
}

}  // namespace s3e
