// latent_eval_result.h — what a latent-space evaluation produces (metrics per attribute, accumulated over rows and
// ranks). Pure data and arithmetic: the run that measures what `edit` wrote lives in pipeline/latent_eval.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/latent_metrics.h"

namespace s3e {

struct LatentEvalResult {
  std::vector<std::string> attribute_names;
  std::vector<int> seen, unseen;  // attribute indices trained on / held out from training
  int64_t first_row = 0, num_rows = 0;  // the edited source rows: the lowest, and how many distinct
  double strength = 1.0;                  // |g| of the edits judged
  bool has_truth = false, has_judge = false;
  MetricAccumulator metrics{0, {}};
};

// Metric names accumulated for a run with/without ground truth and judge, in report order. `identity_leak`: the
// truth has an identity subspace (honest preset; reported in the JSON, not a CSV column).
std::vector<std::string> latent_eval_metric_names(bool has_truth, bool has_judge, bool identity_leak = false);

}  // namespace s3e
