// row_split.h — the one train / held-out split of a latent store, used by train-classifier, train, edit
// (`--rows heldout`) and eval-latent, and recorded in their manifests:
//   by "rows"  (latent-only stores): the last round(N * share) rows are held out;
//   by "video" (stores with a video table): the last round(V * share) videos are held out, with every row of them,
//              so no identity is on both sides; stills (video_index -1) are split by row position among the stills.
// Both lists are ascending. Deterministic: the same store and share give the same split on every rank.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

class LatentStore;

struct RowSplit {
  std::string by;  // "rows" | "video"
  double validation_share = 0;
  std::vector<int64_t> train, heldout;
};

// Throws UsageError when the share leaves no training row or no held-out row (naming the store and the share).
RowSplit row_split(const LatentStore& store, double validation_share);

// rows[i] for each i of `positions` (a sampler's positions in the training list -> store rows).
std::vector<int64_t> row_split_take(const std::vector<int64_t>& rows, const std::vector<int64_t>& positions);

// The split of `num_rows` rows by position: the last round(num_rows * share) are held out (no store needed).
RowSplit row_split_by_rows(int64_t num_rows, double validation_share);

}  // namespace s3e
