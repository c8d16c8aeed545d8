#include "metrics/latent_eval_result.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace s3e {

std::pair<int64_t, int64_t> latent_eval_rows(int64_t num_rows, double validation_share, int64_t max_samples) {
  // The same split as train and train-classifier: they train on the first N - round(N * share) rows.
  int64_t count = std::llround(double(num_rows) * validation_share);
  if (count <= 0 || count >= num_rows)
    throw UsageError(fmt::format("train.validation_share = {} leaves {} held-out rows of {}: eval-latent evaluates "
                                 "only rows the trainer did not train on", validation_share, std::max<int64_t>(0, count),
                                 num_rows));
  int64_t first = num_rows - count;
  if (max_samples > 0) count = std::min(count, max_samples);
  return {first, count};
}

std::vector<std::string> latent_eval_metric_names(bool has_truth, bool has_judge) {
  std::vector<std::string> names;
  if (has_truth) names = {"success", "preservation_error", "identity", "locality", "over_editing"};
  if (has_judge) names.insert(names.end(), {"judge_success", "judge_preservation_error", "judge_other_flips"});
  names.insert(names.end(), {"drift", "classifier_success_circular"});
  return names;
}

}  // namespace s3e
