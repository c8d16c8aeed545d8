#include "metrics/latent_eval_result.h"

namespace s3e {

std::vector<std::string> latent_eval_metric_names(bool has_truth, bool has_judge, bool identity_leak) {
  std::vector<std::string> names;
  if (has_truth) names = {"success", "preservation_error", "identity", "locality", "over_editing"};
  if (has_truth && identity_leak) names.push_back("identity_leak");
  if (has_judge) names.insert(names.end(), {"judge_success", "judge_preservation_error", "judge_other_flips"});
  names.insert(names.end(), {"drift", "classifier_success_circular"});
  return names;
}

}  // namespace s3e
