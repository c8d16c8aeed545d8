// latent_eval.h — judges what `edit --protocol flip-each` wrote (pipeline/edit_store.h): every edited row against
// its source row, measured by latent_metrics.h against the ground truth when there is one, by a second (judge)
// classifier otherwise, and always by the editor's own classifier (reported as circular). No editor is run here:
// the judge sees only (x, x') pairs, their attribute and signed strength. One result per |strength| in the store
// (curves). Ranks split the edited rows and add their sums.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "editor/latent_classifier.h"
#include "metrics/latent_eval_result.h"
#include "metrics/latent_metrics.h"
#include "metrics/synth_truth.h"

namespace s3e {

class LatentStore;

struct LatentEvalOptions {
  int64_t batch_size = 256;  // edited rows per step
};

// `truth` and `judge` may be null. Collective over `comm`. Results in ascending |strength|. Throws UsageError when
// `edited` was not written by the flip-each protocol, DataError when it does not belong to `source`.
std::vector<LatentEvalResult> latent_eval_run(const LatentStore& source, const LatentStore& edited,
                                              const ClassifierBundle& classifier, const SynthTruth* truth,
                                              const ClassifierBundle* judge, const LatentEvalOptions& options,
                                              Communicator& comm);

// Matched edit success (docs/metrics.md, "Matched success"): compares editors at the strength where each reaches
// the same success rather than at the same strength. `reports` are a curve's per-strength reports
// (metrics_report_json, ascending strength); for each target t and each group (seen, unseen): the first pair of
// consecutive strengths whose success brackets t (min <= t <= max; the lowest strengths first), and every summary
// metric interpolated linearly in strength between them, at w = (t - v_lo) / (v_hi - v_lo) (w = 0 when both equal
// t). The group is null when no pair brackets t; a metric is null when it is null at either end. Success is the
// ground truth's (`success`) when the reports have it, else the judge's (`judge_success`); never the circular one.
// Returns {"success_metric", "targets", "by_target": [{"target", "seen", "unseen"}]} where a group is
// {"strength", "between": [lo, hi], <metric>: value...}; null when no report has a non-circular success.
nlohmann::json latent_eval_matched_success(const std::vector<nlohmann::json>& reports,
                                           const std::vector<double>& targets);

}  // namespace s3e
