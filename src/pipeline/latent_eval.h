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
#include "dist/communicator.h"
#include "metrics/latent_eval_result.h"
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

// `truth` and `judge` may be null. Collective over `comm` (each rank takes a block of the rows).
LatentEvalResult latent_eval_run(const LatentStore& store, const ClassifierBundle& classifier, EditorBundle& editor,
                                 const SynthTruth* truth, const ClassifierBundle* judge,
                                 const LatentEvalOptions& options, Communicator& comm);

}  // namespace s3e
