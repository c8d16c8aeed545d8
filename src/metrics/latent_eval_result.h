// latent_eval_result.h — what a latent-space evaluation produces (metrics per attribute, accumulated over rows and
// ranks) and the held-out row split it evaluates. Pure data and arithmetic: the run that edits and measures lives in
// pipeline/latent_eval.h, so that metrics never include editor code.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metrics/latent_metrics.h"

namespace s3e {

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

}  // namespace s3e
