// latent_eval.h — judges what `edit --protocol flip-each` wrote (pipeline/edit_store.h): every edited row against
// its source row, measured by latent_metrics.h against the ground truth when there is one, by a second (judge)
// classifier otherwise, and always by the editor's own classifier (reported as circular). No editor is run here:
// the judge sees only (x, x') pairs, their attribute and signed strength. One result per |strength| in the store
// (curves). Ranks split the edited rows and add their sums.
#pragma once
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

}  // namespace s3e
