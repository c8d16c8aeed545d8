// latent_metrics.h — latent-space edit metrics (docs/metrics.md), per sample, on raw latents x [B, D] and their
// edits x' [B, D] of attribute a [B] in direction sign [B] (+1: add the attribute, -1: remove it):
//   ground truth (synthetic world, synth_truth.h):
//     success       the true strength s'_a = s_a + Δs_a crosses label_threshold in the asked direction, where
//                   Δs = (D D^T)^-1 D (x' - x) / attribute_scale (least-squares coordinates on span{d_b})
//     preservation  mean over b != a of |Δs_b| (attribute preservation error, in strength units)
//     identity      cos(identity(x'), identity(x)), identity(x) = (x - mean) minus its projection on span{d_b}
//     locality      share of the edit energy |x' - x|^2 inside a's true target region
//     over_editing  share of the edit energy outside a's target and leak regions
//     drift         |x' - x| / |x|
//   honest preset (a non-linear world, synth_truth.h): success from s_a(x') (synth_truth_strengths) against the
//   attribute's threshold, preservation = mean over b != a of |s_b(x') - s_b(x)|, identity = cos of the identity
//   coordinates U (x - mean), locality / over-editing as energy in the region subspaces (region_bases), and
//   identity_leak = share of the edit energy inside the identity subspace.
//   classifier judgement (any store): success = the classifier's logit of a after the edit is on the asked side of
//   0, preservation = mean |Δ logit_b| and other_flips = share of b != a whose decision flipped.
// MetricAccumulator sums per attribute and macro-averages over attribute sets (seen / unseen).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "metrics/synth_truth.h"

namespace s3e {

// Per-sample values, each [B] float.
struct TruthEditMetrics {
  torch::Tensor success, preservation, identity, locality, over_editing, drift;
  torch::Tensor identity_leak;  // honest preset only (undefined otherwise)
};
struct JudgeEditMetrics {
  torch::Tensor success, preservation, other_flips;
};

// True strength change [B, A] of an edit dx = x' - x (additive world: the change does not depend on x).
torch::Tensor truth_strength_delta(const SynthTruth& truth, const torch::Tensor& dx);
// Identity component [B, D] of raw latents x: (x - mean) with its least-squares projection on span{d_b} removed.
torch::Tensor truth_identity(const SynthTruth& truth, const torch::Tensor& x);
// `strengths` [B, A] are the true strengths of x (the truth file's `strengths` rows).
TruthEditMetrics truth_edit_metrics(const SynthTruth& truth, const torch::Tensor& x, const torch::Tensor& x_edit,
                                    const torch::Tensor& strengths, const torch::Tensor& attribute,
                                    const torch::Tensor& sign);
// logits [B, A'] before and after the edit; `attribute` indexes the classifier's columns.
JudgeEditMetrics judge_edit_metrics(const torch::Tensor& logits, const torch::Tensor& logits_edit,
                                    const torch::Tensor& attribute, const torch::Tensor& sign);
// |x' - x| / |x| per sample.
torch::Tensor latent_drift(const torch::Tensor& x, const torch::Tensor& x_edit);

// Sums of per-sample metrics per attribute (fixed metric list, so ranks can add their sums with one allreduce).
class MetricAccumulator {
 public:
  MetricAccumulator(int64_t num_attributes, std::vector<std::string> metric_names);
  // Adds `values` [B] of metric `name` for samples all editing attribute `attribute`.
  void add(int64_t attribute, const std::string& name, const torch::Tensor& values);
  void add_count(int64_t attribute, int64_t samples) { counts_[attribute] += double(samples); }
  // Leaves metric `name` of `attribute` out: its mean is NaN (null in reports), so macro averages are over the
  // other attributes; what add() gives it is ignored. Not part of flat(): every rank excludes the same pairs
  // (e.g. the circular success of a head the editor's classifier did not train).
  void exclude(int64_t attribute, const std::string& name);
  bool excluded(int64_t attribute, const std::string& name) const;

  const std::vector<std::string>& metric_names() const { return names_; }
  int64_t num_attributes() const { return int64_t(counts_.size()); }
  double count(int64_t attribute) const { return counts_[attribute]; }
  // Mean of a metric over the samples of one attribute (NaN without samples).
  double mean(int64_t attribute, const std::string& name) const;
  // Mean over `attributes` of their per-attribute means (macro average; NaN when empty).
  double macro_mean(const std::vector<int>& attributes, const std::string& name) const;

  // Flat view [sums (A x M), counts (A)] for reductions across ranks.
  std::vector<double> flat() const;
  void set_flat(const std::vector<double>& values);

 private:
  int index_of(const std::string& name) const;
  std::vector<std::string> names_;
  std::vector<double> sums_;    // [A, M]
  std::vector<double> counts_;  // [A]
  std::vector<char> excluded_;  // [A, M]
};

}  // namespace s3e
