// video_metrics.h — the arithmetic of `s3editor eval` over edited videos (docs/metrics.md, "Videos"), on values
// the face nets measured on both sides (source and edited frame); no nets and no files here, so every formula is
// tested on hand-computed inputs (tests/metrics/test_video_metrics.cpp).
//
//   identity       per frame, similarity of the edited face's descriptor to the source face's
//   TL-ID, TG-ID   STIT's temporal identity: with S and S' the similarity matrices of the source and edited
//                  frames' descriptors, TL-ID = mean over adjacent frames of S'(i,i+1)/S(i,i+1) and TG-ID = mean over
//                  all pairs i != j of S'(i,j)/S(i,j); a pair whose source similarity is under `min_similarity` is
//                  excluded and counted (a ratio over a near-zero similarity means nothing)
//   locality       share of the change (landmark displacement, or pixel change) that falls in the target regions
//   jitter         mean over frame triples and points of |x_t - (x_{t-1} + x_{t+1}) / 2|
//   flicker        mean |r_{t+1} - r_t| of the edit residual r = edited - source over the face's rectangle
#pragma once
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "face/face_types.h"
#include "media/frame.h"

namespace s3e {

// A similarity between two descriptors.
enum class DescriptorSimilarity { cosine, cosine_centred };

// Similarity of two descriptors of `dim` values; `mean` (dim values) is subtracted first for cosine_centred (and
// ignored for cosine). NaN when either vector is zero.
double descriptor_similarity(const float* a, const float* b, int64_t dim, DescriptorSimilarity kind,
                             const std::vector<float>& mean);

struct TemporalIdentity {
  double tl_id = 0, tg_id = 0;           // NaN when no pair counts
  int64_t tl_pairs = 0, tg_pairs = 0;    // pairs averaged
  int64_t tl_excluded = 0, tg_excluded = 0;
  std::vector<double> tl_per_frame;      // [n]: S'(i,i+1)/S(i,i+1) of frame i and its successor; NaN where none
};

// S(i, j) and S'(i, j) of frames i and j of one face (source and edited similarity).
using PairSimilarity = std::function<std::pair<double, double>(int64_t i, int64_t j)>;

// TL-ID and TG-ID of n frames of one face in time order; frame_index [n] gives adjacency (i and i+1 are adjacent
// when their frame indices differ by 1, so a gap in the face's frames is not a pair). TG-ID averages over i < j,
// which equals the mean over i != j of symmetric similarities; with n > tg_max_frames it uses tg_max_frames evenly
// spaced frames (the pairs grow as n^2).
TemporalIdentity temporal_identity(const PairSimilarity& similarity, const std::vector<int64_t>& frame_index,
                                   double min_similarity, int64_t tg_max_frames);

// Share of sum |edited_i - source_i|^2 over the points with in_target[i]; NaN when nothing moved.
double landmark_change_locality(const FaceLandmarks& source, const FaceLandmarks& edited,
                                const std::vector<bool>& in_target);

// Pixel change of one frame pair, max over channels of |edited - source| less `noise_levels` (codec noise), summed
// inside `rect` (x0, y0, width, height; clipped to the frame) and, of that, inside the target mask (`target` is
// width * height of the frame, nonzero = target). Frames of equal size (std::invalid_argument otherwise).
struct PixelChange {
  double total = 0, in_target = 0;
};
PixelChange pixel_change(const Frame& source, const Frame& edited, const int64_t rect[4],
                         const std::vector<uint8_t>& target, int noise_levels);

// Mean over the pixels of `rect` (both frames pairs' union rectangle, clipped) and channels of
// |(edited_b - source_b) - (edited_a - source_a)| (flicker) and of |edited_b - source_b| (residual).
struct ResidualChange {
  double flicker = 0, residual = 0;
};
ResidualChange residual_change(const Frame& source_a, const Frame& edited_a, const Frame& source_b,
                               const Frame& edited_b, const int64_t rect[4]);

// Landmark jitter of a sequence (frame_index [n] ascending; only triples of consecutive frames count); NaN when
// there is no such triple.
double landmark_sequence_jitter(const std::vector<FaceLandmarks>& points, const std::vector<int64_t>& frame_index);

// Mean of the finite values (NaN when none).
double mean_finite(const std::vector<double>& values);

}  // namespace s3e
