// latent_eval.h — evaluates a trained editor in latent space on the held-out rows of a store (the last
// `validation_share` of rows, which the trainer never trains on): every sample gets, for every attribute, the edit
// that flips it (g = +strength without the attribute, -strength with it), and latent_metrics.h measures it —
// against the ground truth when there is one, by a second (judge) classifier otherwise, and always by the editor's
// own classifier (reported as circular). Ranks split the rows and add their sums.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "editor/editor_io.h"
#include "editor/latent_classifier.h"
#include "metrics/latent_metrics.h"
#include "metrics/synth_truth.h"

namespace s3e {

class LatentStore;

struct LatentEvalOptions {
  double strength = 1.0;          // |g| of every edit
  double validation_share = 0.1;  // held-out rows: the last share of the store
  int64_t max_samples = 0;        // 0 = every held-out row; else the first max_samples of them
  int64_t batch_size = 256;
};

// The rows [first, first + count) of a store of `num_rows` that the trainer holds out: the last
// round(num_rows * share) rows (the split of train and train-classifier), the first max_samples of them when
// max_samples > 0. Throws UsageError when the share leaves nothing to evaluate.
std::pair<int64_t, int64_t> latent_eval_rows(int64_t num_rows, double validation_share, int64_t max_samples);

struct LatentEvalResult {
  std::vector<std::string> attribute_names;
  std::vector<int> seen, unseen;  // attribute indices trained on / held out from training
  int64_t first_row = 0, num_rows = 0;
  bool has_truth = false, has_judge = false;
  MetricAccumulator metrics{0, {}};
};

// Metric names accumulated for a run with/without ground truth and judge, in report order.
std::vector<std::string> latent_eval_metric_names(bool has_truth, bool has_judge);

// `truth` and `judge` may be null. Collective when several ranks run (each takes a block of the rows).
LatentEvalResult latent_eval_run(const LatentStore& store, const ClassifierBundle& classifier, EditorBundle& editor,
                                 const SynthTruth* truth, const ClassifierBundle* judge,
                                 const LatentEvalOptions& options);

}  // namespace s3e
