#include "editor/group_sparsifier.h"

#include <cmath>

namespace s3e {

GroupSparsifier::GroupSparsifier(EditorModel& model, const EditorOptions& o) : model_(model), options_(o) {
  enabled_ = o.sparsity_rate > 0 && model->spec().transform == "region_mlp";
  if (!enabled_) return;
  target_groups_ = std::llround(o.sparsity_rate * double(model->num_groups()));
  selected_ = torch::zeros_like(model->group_mask).to(torch::kBool);
}

torch::Tensor GroupSparsifier::score_groups(const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                                            const torch::Tensor& g) const {
  auto& m = *model_;
  const int K = m.spec().num_experts;
  const int64_t H = m.hidden_per_expert();
  auto normalise = [](torch::Tensor t) { return t / t.max().clamp_min(1e-20); };
  torch::Tensor input;  // the experts' input rows (refine: built from z + g s e and g)
  {
    torch::NoGradGuard no_grad;
    input = m.expert_input(ze, e, g);
  }
  auto magnitude = torch::zeros({K, H}), avg = torch::zeros({K, H}), cosine = torch::zeros({K, H}),
       taylor1 = torch::zeros({K, H}), taylor2 = torch::zeros({K, H}), over = torch::zeros({K, H});
  for (int k = 0; k < K; ++k) {
    torch::NoGradGuard no_grad;
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
    // Over-editing: edit energy this neuron writes outside the target regions of the attributes routed here.
    auto rows = route.select(1, k).nonzero().squeeze(1);
    if (rows.numel() > 0) {
      auto hidden = torch::leaky_relu(torch::addmm(m.b1[k], input.index_select(0, rows), m.w1[k].t()), 0.2);
      auto energy = hidden.pow(2).sum(0) * (m.w2[k] * m.w2_mask).pow(2).sum(0);  // [H], summed over rows
      for (int64_t h = 0; h < H; ++h) {
        int block = m.block_of_neuron(h);
        if (!m.spec().regions.is_target(k, block)) over[k][h] = energy[h];
      }
    }
  }
  if (rank_sum_) rank_sum_(over);
  auto o = options_;
  auto score = o.crit_magnitude * normalise(magnitude) + o.crit_avg_magnitude * normalise(avg) +
               o.crit_cosine * cosine + o.crit_taylor1 * normalise(taylor1) + o.crit_taylor2 * normalise(taylor2);
  if (o.over_edit_criterion) score = score - o.crit_over_edit * normalise(over);
  return score;
}

void GroupSparsifier::before_step(int64_t step, const torch::Tensor& ze, const torch::Tensor& e,
                                  const torch::Tensor& route, const torch::Tensor& g) {
  if (!enabled_) return;
  int64_t offset = step - options_.sparsity_start;
  if (offset < 0 || offset % options_.sparsity_period_steps != 0) return;
  int64_t period = offset / options_.sparsity_period_steps;
  if (period >= options_.sparsity_periods) return;
  // Groups to add this period so that after the last period exactly target_groups_ are zero.
  int64_t done = (model_->group_mask == 0).sum().item<int64_t>();
  int64_t goal = std::llround(double(target_groups_) * double(period + 1) / double(options_.sparsity_periods));
  int64_t pick = std::max<int64_t>(0, goal - done);
  last_scores_ = score_groups(ze, e, route, g);
  selected_.zero_();
  if (pick == 0) return;
  // Lowest scores among live groups; ties broken by index (deterministic on every rank).
  auto candidates = last_scores_.flatten().masked_fill(model_->group_mask.flatten() == 0, INFINITY);
  auto order = std::get<1>(candidates.sort(/*stable=*/true, 0, false));
  selected_.view(-1).index_fill_(0, order.slice(0, 0, pick), true);
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

void GroupSparsifier::restore(const torch::Tensor& selected, std::vector<SparsityEvent> history) {
  if (selected.defined() && enabled_) selected_ = selected.clone();
  history_ = std::move(history);
}

}  // namespace s3e
