#include "editor/group_sparsifier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace s3e {

GroupSparsifier::GroupSparsifier(EditorModel& model, const EditorOptions& o) : model_(model), options_(o) {
  if (o.sparsity_group != "neuron" && o.sparsity_group != "block")
    throw UsageError("sparsity.group '" + o.sparsity_group + "' is not one of neuron, block");
  enabled_ = o.sparsity_rate > 0 && model->spec().transform == "region_mlp";
  if (!enabled_) return;
  block_mode_ = o.sparsity_group == "block";
  if (!block_mode_) {
    target_groups_ = std::llround(o.sparsity_rate * double(model->num_groups()));
  } else {
    const int R = model->spec().regions.num_regions;
    block_of_ = block_index(model->hidden_per_expert(), R);
    block_size_ = torch::zeros({R + 1}).index_add_(0, block_of_, torch::ones({block_of_.size(0)})).slice(0, 0, R);
    // Exact in blocks: round(rate * blocks), half away from zero (llround), counting only blocks that hold neurons.
    target_blocks_ = std::llround(o.sparsity_rate * double(units()));
    const int64_t full = (block_size_ > 0).sum().item<int64_t>();
    // The neurons they hold (for the trainer's "pruned N of M neuron groups"); exact for equal blocks.
    target_groups_ = full > 0 ? std::llround(double(target_blocks_) * block_size_.sum().item<double>() / double(full)) : 0;
  }
  selected_ = torch::zeros_like(model->group_mask).to(torch::kBool);
  window_ = torch::zeros({2, model->group_mask.size(0), model->group_mask.size(1)});
  over_share_ = torch::zeros_like(model->group_mask);
}

torch::Tensor GroupSparsifier::block_index(int64_t H, int R) {
  auto h = torch::arange(H, torch::kLong);
  const int64_t width = R > 0 ? H / R : 0;
  auto block = width > 0 ? torch::div(h, width, "floor") : h;  // the model's w2_mask: h / (H / R)
  return block.clamp_max(R);                                   // R: a neuron of no block
}

int64_t GroupSparsifier::units() const {
  if (!enabled_) return 0;
  if (!block_mode_) return model_->num_groups();
  return model_->spec().num_experts * (block_size_ > 0).sum().item<int64_t>();
}

torch::Tensor GroupSparsifier::block_sum(const torch::Tensor& t) const {
  const int64_t R = block_size_.size(0), last = t.dim() - 1;
  auto shape = t.sizes().vec();
  shape.back() = R + 1;
  return torch::zeros(shape, t.options()).index_add_(last, block_of_, t).slice(last, 0, R);
}

torch::Tensor GroupSparsifier::block_spread(const torch::Tensor& t, double fill) const {
  auto padded = torch::cat({t, torch::full({t.size(0), 1}, fill, t.options())}, 1);
  return padded.index_select(1, block_of_);
}

torch::Tensor GroupSparsifier::to_units(const torch::Tensor& t) const { return block_mode_ ? block_sum(t) : t; }

torch::Tensor GroupSparsifier::to_neurons(const torch::Tensor& u) const {
  return block_mode_ ? block_spread(u, 0.0) : u;
}

torch::Tensor GroupSparsifier::units_alive() const {
  auto alive = to_units((model_->group_mask > 0).to(torch::kFloat)) > 0;
  return block_mode_ ? alive & (block_size_ > 0).unsqueeze(0) : alive;
}

torch::Tensor GroupSparsifier::units_dead() const {
  auto dead = to_units((model_->group_mask > 0).to(torch::kFloat)) == 0;
  return block_mode_ ? dead & (block_size_ > 0).unsqueeze(0) : dead;  // a block without neurons is neither
}

torch::Tensor GroupSparsifier::unit_scores(const torch::Tensor& energy, torch::Tensor* share) const {
  // A block's saliency is the mean of its neurons' normalised saliency (a block without neurons scores 0; it is
  // never a candidate).
  auto score = block_mode_ ? block_sum(saliency()) / block_size_.clamp_min(1).unsqueeze(0) : saliency();
  if (!energy.defined()) return score;
  // Over-editing of the unit as a whole: its off-target energy over its total energy.
  auto s = over_edit_share(to_units(energy));
  if (share) *share = s;
  return score - options_.crit_over_edit * s;
}

torch::Tensor GroupSparsifier::over_edit_energy(const torch::Tensor& ze, const torch::Tensor& e,
                                                const torch::Tensor& route, const torch::Tensor& g) const {
  torch::NoGradGuard no_grad;
  auto& m = *model_;
  const auto& map = m.spec().regions;
  const int K = m.spec().num_experts, R = map.num_regions;
  const int64_t H = m.hidden_per_expert(), B = ze.size(0);
  auto out = torch::zeros({2, K, H});
  auto input = m.expert_input(ze, e, g);  // refine: built from z + g s e and g, as the experts see it
  // Target regions of each row's attribute, measured from its embedding (region_map.h), and their complement.
  auto ec = e.detach().contiguous().to(torch::kFloat);
  std::vector<float> ev(ec.data_ptr<float>(), ec.data_ptr<float>() + ec.numel());
  auto targets = region_targets_by_energy(ev, int(B), map, map.target_energy);
  auto outside = 1 - torch::from_blob(targets.data(), {B, R}, torch::kInt32).to(torch::kFloat);  // [B, R]
  auto region = torch::from_blob(const_cast<int32_t*>(map.region_of_dim.data()), {int64_t(map.region_of_dim.size())},
                                 torch::kInt32).to(torch::kLong);
  auto onehot_t = torch::one_hot(region, R).to(torch::kFloat).t();  // [R, De]
  for (int k = 0; k < K; ++k) {
    auto weight = route.select(1, k);
    auto rows = weight.nonzero().squeeze(1);
    if (rows.numel() == 0) continue;
    // Row i's contribution of neuron h is w_ik act_ih W2[:, h]; its energy in region r is (w_ik act_ih)^2 times
    // the energy of W2[:, h] in region r. Measured on the whole column, so it does not rely on the block mask.
    auto act2 = (m.expert_hidden(k, input.index_select(0, rows)) * weight.index_select(0, rows).unsqueeze(1)).pow(2);
    auto w2 = m.w2[k] * m.w2_mask * m.group_mask[k].unsqueeze(0);  // [De, H]
    auto per_region = torch::mm(onehot_t, w2.pow(2));               // [R, H]
    out[0][k] = (act2 * torch::mm(outside.index_select(0, rows), per_region)).sum(0);
    out[1][k] = (act2 * per_region.sum(0).unsqueeze(0)).sum(0);
  }
  return out;
}

torch::Tensor GroupSparsifier::over_edit_share(const torch::Tensor& energy) {
  auto total = energy[1];
  return torch::where(total > 0, energy[0] / total.clamp_min(1e-30), torch::zeros_like(total)).clamp(0, 1);
}

torch::Tensor GroupSparsifier::saliency() const {
  torch::NoGradGuard no_grad;
  auto& m = *model_;
  const int K = m.spec().num_experts;
  const int64_t H = m.hidden_per_expert();
  auto normalise = [](torch::Tensor t) { return t / t.max().clamp_min(1e-20); };
  auto magnitude = torch::zeros({K, H}), avg = torch::zeros({K, H}), cosine = torch::zeros({K, H}),
       taylor1 = torch::zeros({K, H}), taylor2 = torch::zeros({K, H});
  for (int k = 0; k < K; ++k) {
    auto w = torch::cat({m.w1[k], m.b1[k].unsqueeze(1), (m.w2[k] * m.w2_mask).t()}, 1);  // [H, group size]
    auto grad_of = [](const torch::Tensor& p) { return p.grad().defined() ? p.grad() : torch::zeros_like(p); };
    auto g = torch::cat({grad_of(m.w1[k]), grad_of(m.b1[k]).unsqueeze(1), (grad_of(m.w2[k]) * m.w2_mask).t()}, 1);
    auto norm = w.norm(2, 1);
    magnitude[k] = norm;
    avg[k] = norm / std::sqrt(double(w.size(1)));
    cosine[k] = torch::cosine_similarity(w, -g, 1, 1e-12);
    auto dot = (w * g).sum(1);
    taylor1[k] = dot.abs();
    taylor2[k] = dot * dot;
  }
  const auto& o = options_;
  return o.crit_magnitude * normalise(magnitude) + o.crit_avg_magnitude * normalise(avg) + o.crit_cosine * cosine +
         o.crit_taylor1 * normalise(taylor1) + o.crit_taylor2 * normalise(taylor2);
}

torch::Tensor GroupSparsifier::score_groups(const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                                            const torch::Tensor& g) const {
  torch::Tensor energy;
  if (options_.over_edit_criterion) {
    energy = over_edit_energy(ze, e, route, g);
    if (rank_sum_) rank_sum_(energy);
  }
  return to_neurons(unit_scores(energy));
}

int64_t GroupSparsifier::next_selection(int64_t step) const {
  const int64_t start = options_.sparsity_start, T = options_.sparsity_period_steps;
  if (step <= start) return start;
  const int64_t period = (step - start + T - 1) / T;
  return period < options_.sparsity_periods ? start + period * T : -1;
}

void GroupSparsifier::before_step(int64_t step, const torch::Tensor& ze, const torch::Tensor& e,
                                  const torch::Tensor& route, const torch::Tensor& g) {
  if (!enabled_) return;
  const int64_t next = next_selection(step);
  if (next < 0) return;
  const bool measure = options_.over_edit_criterion;
  // The measuring window: the over_edit_steps steps up to the selection (the selection's own batch included).
  // Each step's sums are added over ranks at once, so the window is the same on every rank (and in checkpoints).
  if (measure && step > next - options_.over_edit_steps) {
    auto energy = over_edit_energy(ze, e, route, g);
    if (rank_sum_) rank_sum_(energy);
    window_ += energy;
  }
  if (step != next) return;
  const int64_t period = (step - options_.sparsity_start) / options_.sparsity_period_steps;
  // Units to add this period so that after the last period exactly target_units() are zero (the last period takes
  // the rest); never more than are alive.
  auto alive = units_alive();
  const int64_t done = units_dead().sum().item<int64_t>();
  const int64_t goal = std::llround(double(target_units()) * double(period + 1) / double(options_.sparsity_periods));
  const int64_t pick = std::min(std::max<int64_t>(0, goal - done), alive.sum().item<int64_t>());
  torch::Tensor share;
  auto scores = unit_scores(measure ? window_ : torch::Tensor(), &share);
  last_scores_ = to_neurons(scores);
  if (measure) {
    // A masked unit wrote nothing in the window: it keeps the share measured while it was alive (block mode: each
    // neuron holds its block's share).
    over_share_ = torch::where(model_->group_mask > 0, to_neurons(share), over_share_);
    model_->over_edit_share = over_share_.clone();
    window_.zero_();
    spdlog::info("sparsity step {}: {} of {} {} measured off-target (>= {:.0f}% of their edit energy outside their "
                 "rows' target regions); pruning {} more ({} of {} at the end)", step, off_target_groups(), units(),
                 unit_name(), 100 * k_off_target_share, pick, target_units(), units());
  }
  selected_.zero_();
  if (pick == 0) return;
  // Lowest scores among live units; ties broken by index (k * H + h, or k * R + r: deterministic on every rank).
  auto candidates = scores.flatten().masked_fill(~alive.flatten(), INFINITY);
  auto order = std::get<1>(candidates.sort(/*stable=*/true, 0, false));
  auto chosen = torch::zeros({candidates.numel()}, torch::kBool).index_fill_(0, order.slice(0, 0, pick), true);
  selected_ = to_neurons(chosen.view(scores.sizes()).to(torch::kFloat)) > 0.5;
}

void GroupSparsifier::zero_groups(const torch::Tensor& which, double factor) {
  torch::NoGradGuard no_grad;
  auto& m = *model_;
  for (int k = 0; k < m.spec().num_experts; ++k) {
    auto keep = torch::where(which[k], torch::full({}, factor), torch::ones({}));
    m.w1[k].mul_(keep.unsqueeze(1));
    m.b1[k].mul_(keep);
    m.w2[k].mul_(keep.unsqueeze(0));
  }
}

void GroupSparsifier::after_step(int64_t step) {
  if (!enabled_) return;
  int64_t offset = step - options_.sparsity_start;
  if (offset < 0 || offset >= options_.sparsity_periods * options_.sparsity_period_steps) {
    zero_groups(model_->group_mask == 0, 0.0);  // masked groups stay exactly zero (Adam's momentum would move them)
    return;
  }
  int64_t t = offset % options_.sparsity_period_steps, T = options_.sparsity_period_steps;
  // Progressive projection: after step t of T the selected groups hold (T - t - 1) / (T - t) of what they had,
  // which is exactly zero after the period's last step.
  zero_groups(selected_, double(T - t - 1) / double(T - t));
  if (t == T - 1) {
    model_->group_mask.masked_fill_(selected_, 0.0);
    selected_.zero_();
  }
  zero_groups(model_->group_mask == 0, 0.0);
  history_.push_back({step, (model_->group_mask == 0).sum().item<int64_t>(), selected_.sum().item<int64_t>()});
}

int64_t GroupSparsifier::off_target_groups() const {
  if (!over_share_.defined()) return 0;
  return off_target_units().sum().item<int64_t>();
}

int64_t GroupSparsifier::off_target_pruned() const {
  if (!over_share_.defined()) return 0;
  return (off_target_units() & units_dead()).sum().item<int64_t>();
}

torch::Tensor GroupSparsifier::off_target_units() const {
  // Block mode: every neuron of a block holds the block's share.
  return to_units((over_share_ >= k_off_target_share).to(torch::kFloat)) > 0;
}

std::string GroupSparsifier::report() const {
  if (!enabled_) return "sparsity: off";
  const int64_t G = units(), off = off_target_groups();
  const double rate = G > 0 ? double(target_units()) / double(G) : 0.0, off_share = G > 0 ? double(off) / double(G) : 0.0;
  const std::string what = block_mode_ ? fmt::format("{} of {} {} ({} neurons)", target_units(), G, unit_name(),
                                                     target_groups_)
                                       : fmt::format("{} of {} {}", target_units(), G, unit_name());
  const char* noun = block_mode_ ? "blocks" : "groups";
  if (!options_.over_edit_criterion)
    return fmt::format("sparsity: pruned {} (rate {:.4f}); over-editing not measured (sparsity.over_edit = false)",
                       what, rate);
  return fmt::format("sparsity: pruned {} (rate {:.4f}); measured off-target {} (>= {:.0f}% of their edit energy "
                     "outside the target regions): {} (share {:.4f}); rate / off-target share = {}; off-target {} "
                     "pruned: {} of {}", what, rate, noun, 100 * k_off_target_share, off, off_share,
                     off > 0 ? fmt::format("{:.3f}", rate / off_share) : std::string("n/a (none)"), noun,
                     off_target_pruned(), off);
}

torch::Tensor GroupSparsifier::state() const {
  if (!enabled_) return {};
  return torch::stack({selected_.to(torch::kFloat), window_[0], window_[1], over_share_});
}

void GroupSparsifier::restore(const torch::Tensor& state, std::vector<SparsityEvent> history) {
  history_ = std::move(history);
  if (!state.defined() || !enabled_ || state.numel() == 0) return;
  if (state.dim() == 2) {  // a checkpoint from before the state held more than the selection
    selected_ = state.to(torch::kBool).clone();
    return;
  }
  selected_ = state[0] > 0.5;
  window_ = state.slice(0, 1, 3).clone();
  over_share_ = state[3].clone();
  // history is non-empty once the first selection has been made (and measured).
  if (options_.over_edit_criterion && !history_.empty()) model_->over_edit_share = over_share_.clone();
}

}  // namespace s3e
