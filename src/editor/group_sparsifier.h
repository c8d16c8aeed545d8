// group_sparsifier.h — HESSO-style structured sparsity for region_mlp experts (after Only-Train-Once's
// deterministic, period-based group sparse optimiser). Groups are hidden neurons (row of W1, bias, column of W2).
// From `start_step`, `periods` pruning periods of `period_steps` steps each: at the start of a period the
// lowest-scoring live groups (target_rate * groups / periods of them, the last period taking the rest) are picked;
// during the period they are shrunk progressively (after each optimiser step, w *= (T - t - 1) / (T - t)), so they
// reach exactly zero at its end; then they are masked and stay zero. The target rate is hit exactly.
// Score (higher = keep): weighted sum of OTO saliency criteria normalised over the groups (magnitude, average
// magnitude, cos(w, -grad), |<w, grad>|, <w, grad>^2) minus the over-editing criterion: the group's share of edit
// energy written outside its expert's target regions (the expert's cluster region and the shared region),
// measured on the step's batch as E[act^2] * |W2 column|^2.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "editor/editor_model.h"
#include "editor/editor_options.h"

namespace s3e {

struct SparsityEvent {
  int64_t step;
  int64_t groups_zero;      // groups masked (exactly zero) after this step
  int64_t groups_shrinking; // groups being shrunk in the current period
};

class GroupSparsifier {
 public:
  GroupSparsifier(EditorModel& model, const EditorOptions& options);

  bool enabled() const { return enabled_; }
  // Data-parallel runs: sums a tensor over ranks, so the batch-dependent part of the scores (the over-editing
  // energy) is the same on every rank and every rank prunes the same groups.
  void set_rank_sum(std::function<void(torch::Tensor&)> sum) { rank_sum_ = std::move(sum); }
  int64_t target_groups() const { return target_groups_; }
  // Call after backward (gradients present) with the step's editable inputs, embeddings, routing and strengths
  // (a refining editor's experts see z + g s e and g, so g is required there), before the optimiser step: at a
  // period start it scores and selects groups.
  void before_step(int64_t step, const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                   const torch::Tensor& g = {});
  // Call after the optimiser step: shrinks the selected groups, masks them at the period end.
  void after_step(int64_t step);

  // Score of every group [K, H] at the last selection (for tests and reports).
  const torch::Tensor& last_scores() const { return last_scores_; }
  torch::Tensor score_groups(const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                             const torch::Tensor& g = {}) const;
  const std::vector<SparsityEvent>& history() const { return history_; }
  // Restores after a resume: masks come with the model's buffers; `selected` is the current period's selection.
  torch::Tensor selected() const { return selected_; }
  void restore(const torch::Tensor& selected, std::vector<SparsityEvent> history);

 private:
  void zero_groups(const torch::Tensor& which, double factor);
  EditorModel& model_;
  EditorOptions options_;
  bool enabled_ = false;
  int64_t target_groups_ = 0;
  torch::Tensor selected_;  // [K, H] bool: being shrunk in the current period
  torch::Tensor last_scores_;
  std::function<void(torch::Tensor&)> rank_sum_;
  std::vector<SparsityEvent> history_;
};

}  // namespace s3e
