// metrics_report.h — the outputs of eval-latent: metrics JSON (every metric per attribute, and macro averages for
// seen and unseen attributes; schema "s3editor.latent_metrics"), a one-row CSV summary for ablation tables, and a
// short text table for the terminal. Metrics a run could not measure (no ground truth, no judge) are left out of
// the JSON and empty in the CSV.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "metrics/latent_eval_result.h"

namespace s3e {

struct LatentEvalInfo {
  std::string store, edited, editor, classifier, judge, truth, transform;
  double validation_share = 0.1;
};

nlohmann::json metrics_report_json(const LatentEvalResult& result, const LatentEvalInfo& info);
// Header line and one row; columns: run info, then <group>_<metric> for group in seen, unseen.
std::string metrics_report_csv(const LatentEvalResult& result, const LatentEvalInfo& info);
std::string metrics_report_table(const LatentEvalResult& result);

}  // namespace s3e
