#include "editor/editor_model.h"

#include <fmt/format.h>

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
    for (int k = 0; k < K; ++k) {
      // Kaiming-like init for the hidden layer; small output init so an untrained expert barely edits.
      w1.push_back(register_parameter(fmt::format("expert{}_w1", k), torch::randn({H, 2 * De}) / std::sqrt(2.0 * De)));
      b1.push_back(register_parameter(fmt::format("expert{}_b1", k), torch::zeros({H})));
      w2.push_back(register_parameter(fmt::format("expert{}_w2", k), torch::randn({De, H}) * (0.1 / std::sqrt(double(H)))));
    }
    group_mask = register_buffer("group_mask", torch::ones({K, H}));
  } else if (spec_.transform == "lt_linear") {
    const int64_t C = spec_.layer_channels, L = De / C;
    for (int k = 0; k < K; ++k) {
      // Equalised learning rate (StyleGAN's EqualLinear): weights stored N(0, 1/lr_mul), scaled at run time.
      lt_weight.push_back(register_parameter(fmt::format("lt{}_weight", k), torch::randn({L, C, C}) / spec_.lr_mul));
      lt_bias.push_back(register_parameter(fmt::format("lt{}_bias", k), torch::zeros({L, C})));
    }
  } else if (spec_.transform != "linear") {
    throw UsageError("editor.transform '" + spec_.transform + "' is not one of linear, lt_linear, region_mlp");
  }
}

int EditorModelImpl::block_of_neuron(int64_t h) const {
  return static_cast<int>(h / (hidden_per_expert_ / spec_.regions.num_regions));
}

torch::Tensor EditorModelImpl::delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route) {
  if (spec_.transform == "linear") return e * spec_.linear_scale;
  auto out = torch::zeros_like(z);
  const int K = spec_.num_experts;
  for (int k = 0; k < K; ++k) {
    auto weight = route.select(1, k);
    auto rows = weight.nonzero().squeeze(1);
    if (rows.numel() == 0) continue;  // hard routing: only the experts that have samples run
    auto zk = z.index_select(0, rows), ek = e.index_select(0, rows);
    torch::Tensor mk;
    if (spec_.transform == "region_mlp") {
      auto mask = group_mask[k];
      auto hidden = torch::leaky_relu(torch::addmm(b1[k] * mask, torch::cat({zk, ek}, 1), (w1[k] * mask.unsqueeze(1)).t()), 0.2);
      mk = torch::mm(hidden, (w2[k] * w2_mask * mask.unsqueeze(0)).t());
    } else {
      const int64_t C = spec_.layer_channels, L = spec_.edit_dim / C;
      auto scale = spec_.lr_mul / std::sqrt(double(C));
      auto zl = zk.view({-1, L, C}).transpose(0, 1);                       // [L, b, C]
      auto dl = torch::baddbmm((lt_bias[k] * spec_.lr_mul).unsqueeze(1), zl, lt_weight[k].transpose(1, 2) * scale);
      mk = dl.transpose(0, 1).reshape({-1, L * C});
    }
    out.index_add_(0, rows, mk * weight.index_select(0, rows).unsqueeze(1));
  }
  return out;
}

torch::Tensor EditorModelImpl::forward(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& g,
                                       const torch::Tensor& route) {
  return z + g.unsqueeze(1) * delta(z, e, route);
}

int64_t editor_parameter_count(EditorModel& model, bool pruned_removed) {
  int64_t n = 0;
  for (auto& p : model->parameters()) n += p.numel();
  if (!pruned_removed || model->spec().transform != "region_mlp") return n;
  // A removed neuron takes its W1 row (2 De), its bias and its W2 column (De).
  auto dead = (model->group_mask == 0).sum().item<int64_t>();
  return n - dead * (3 * model->spec().edit_dim + 1);
}

}  // namespace s3e
