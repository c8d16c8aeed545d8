// group_sparsifier.h — HESSO-style structured sparsity for region_mlp experts (after Only-Train-Once's
// deterministic, period-based group sparse optimiser). Groups are hidden neurons (row of W1, bias, column of W2);
// each expert's neurons are split into R region blocks (R = the region map's, not K), block r writing region r.
// From `start_step`, `periods` pruning periods of `period_steps` steps each: at the start of a period the
// lowest-scoring live groups (target_rate * groups / periods of them, the last period taking the rest) are picked;
// during the period they are shrunk progressively (after each optimiser step, w *= (T - t - 1) / (T - t)), so they
// reach exactly zero at its end; then they are masked and stay zero. The target rate is hit exactly.
// Score (higher = keep): weighted sum of OTO saliency criteria normalised over the groups (magnitude, average
// magnitude, cos(w, -grad), |<w, grad>|, <w, grad>^2) minus over_edit_weight times the group's measured
// over-editing: the share of its contribution to the edit (w_route * act_h * W2[:, h] per row) whose energy lands
// outside the target regions of the attribute the row edits (region_map.h: the fewest regions holding
// target_energy of |e_a|^2), summed over the `over_edit_steps` steps up to each selection and over ranks.
// sparsity.group = block: the unit selected is a whole region block (k, r) instead (the paper's "(expert, region
// block)" groups): its saliency is the mean of its neurons' normalised saliency, its over-editing the share of its
// neurons' summed edit energy that lands outside the targets, and round(rate * K * R) blocks end up zero; every
// neuron of a selected block is shrunk and masked as a single neuron is. The state stays per neuron ([K, H]).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
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
  // A group is "off-target" when at least this share of its measured edit energy is over-editing.
  static constexpr double k_off_target_share = 0.5;

  GroupSparsifier(EditorModel& model, const EditorOptions& options);

  bool enabled() const { return enabled_; }
  // Data-parallel runs: sums a tensor over ranks, so the batch-dependent part of the scores (the over-editing
  // energy) is the same on every rank and every rank prunes the same groups. Called collectively: at every step of
  // each measuring window (the same steps on every rank).
  void set_rank_sum(std::function<void(torch::Tensor&)> sum) { rank_sum_ = std::move(sum); }
  // Neuron groups zero after the last period (block mode: the neurons of the target blocks, which is exact for
  // the model's equal blocks).
  int64_t target_groups() const { return target_groups_; }
  // sparsity.group = block: the selection unit is the region block (k, r).
  bool block_mode() const { return block_mode_; }
  // Units selected from: K x H neurons, or (block mode) the K x R blocks that hold neurons; and how many of them
  // are zero after the last period (round(rate * units), half away from zero).
  int64_t units() const;
  int64_t target_units() const { return block_mode_ ? target_blocks_ : target_groups_; }
  // Region block of every neuron [H] long, as the model's w2_mask assigns them (h / (H / R)); R for a neuron of
  // no block (past R equal blocks when H is not a multiple of R). With H < R, neuron h is block h and blocks H..R-1
  // hold none. The model keeps H a multiple of R >= R; the sparsifier copes with either.
  static torch::Tensor block_index(int64_t hidden_per_expert, int num_regions);
  // Call after backward (gradients present) with the step's editable inputs, embeddings, routing and strengths
  // (a refining editor's experts see z + g s e and g, so g is required there), before the optimiser step: in the
  // `over_edit_steps` steps up to a selection it measures over-editing; at a period start it scores and selects.
  void before_step(int64_t step, const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                   const torch::Tensor& g = {});
  // Call after the optimiser step: shrinks the selected groups, masks them at the period end.
  void after_step(int64_t step);

  // This rank's over-editing sums over the rows of a batch: [2, K, H] = (energy of each group's contribution
  // outside the row's target regions, its total energy). Rows edit the attribute whose embedding they carry (e).
  torch::Tensor over_edit_energy(const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                                 const torch::Tensor& g = {}) const;
  // off / total per group [K, H]; 0 for a group that wrote nothing (no evidence).
  static torch::Tensor over_edit_share(const torch::Tensor& energy);
  // The saliency part of the score [K, H] from the current weights and gradients.
  torch::Tensor saliency() const;
  // Score of every group [K, H] on one batch (its over-editing summed over ranks), as a selection would score it
  // (block mode: each neuron holds its block's score).
  torch::Tensor score_groups(const torch::Tensor& ze, const torch::Tensor& e, const torch::Tensor& route,
                             const torch::Tensor& g = {}) const;
  // Score of every group [K, H] at the last selection (for tests and reports; block mode: its block's score).
  const torch::Tensor& last_scores() const { return last_scores_; }
  // Each group's over-editing share measured at the last selection where it was alive [K, H] (zeros before any;
  // block mode: its block's share).
  const torch::Tensor& over_share() const { return over_share_; }
  // Groups (block mode: blocks) whose measured share is >= k_off_target_share, over all of them; and those of
  // them that are pruned.
  int64_t off_target_groups() const;
  int64_t off_target_pruned() const;
  // One line: the sparsity rate against the share of off-target groups (printed at the end of training).
  std::string report() const;

  const std::vector<SparsityEvent>& history() const { return history_; }
  // The current period's selection [K, H] bool.
  torch::Tensor selected() const { return selected_; }
  // Everything a resume needs beyond the model's masks, [4, K, H] float: selection, the measuring window's two
  // sums (identical on every rank: summed over ranks each step) and the measured shares; undefined when disabled.
  torch::Tensor state() const;
  // Restores after a resume from state() (or, from checkpoints written before it, the [K, H] selection alone).
  void restore(const torch::Tensor& state, std::vector<SparsityEvent> history);

 private:
  void zero_groups(const torch::Tensor& which, double factor);
  // The unit of selection is a neuron, or in block mode a region block: to_units sums a per-neuron [..., K, H]
  // tensor into units ([..., K, H] itself, or [..., K, R]), to_neurons gives each neuron its unit's value.
  torch::Tensor to_units(const torch::Tensor& t) const;
  torch::Tensor to_neurons(const torch::Tensor& u) const;
  // Units with a live neuron / with neurons, none of them live (blocks without neurons are neither) [K, U] bool.
  torch::Tensor units_alive() const;
  torch::Tensor units_dead() const;
  // Units whose measured over-editing share is >= k_off_target_share [K, U] bool.
  torch::Tensor off_target_units() const;
  const char* unit_name() const { return block_mode_ ? "(expert, region) blocks" : "groups"; }
  // Scores [K, U] of the units from the saliency and (if defined) over-editing sums [2, K, H]; `share` gets the
  // units' over-editing shares.
  torch::Tensor unit_scores(const torch::Tensor& energy, torch::Tensor* share = nullptr) const;
  // [..., K, H] -> [..., K, R]: sums over each block's neurons (neurons of no block left out).
  torch::Tensor block_sum(const torch::Tensor& t) const;
  // [K, R] -> [K, H]: each neuron gets its block's value (`fill` for a neuron of no block).
  torch::Tensor block_spread(const torch::Tensor& t, double fill) const;
  // The selection step at or after `step` (-1 when none is left).
  int64_t next_selection(int64_t step) const;
  EditorModel& model_;
  EditorOptions options_;
  bool enabled_ = false;
  int64_t target_groups_ = 0;
  bool block_mode_ = false;
  int64_t target_blocks_ = 0;
  torch::Tensor block_of_;    // [H] long: region block of each neuron (R: none)
  torch::Tensor block_size_;  // [R] float: neurons per block
  torch::Tensor selected_;  // [K, H] bool: being shrunk in the current period
  torch::Tensor window_;    // [2, K, H] over-editing sums of the current measuring window (summed over ranks)
  torch::Tensor over_share_;  // [K, H]
  torch::Tensor last_scores_;
  std::function<void(torch::Tensor&)> rank_sum_;
  std::vector<SparsityEvent> history_;
};

}  // namespace s3e
