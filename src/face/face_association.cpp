#include "face/face_association.h"

#include <algorithm>
#include <tuple>

#include "face/face_crops.h"
#include "face/face_identity.h"

namespace s3e {

double face_box_containment(const FaceBox& a, const FaceBox& b) {
  double x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  double x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  double smaller = std::min(a.width * a.height, b.width * b.height);
  if (!(smaller > 0) || x1 <= x0 || y1 <= y0) return 0;
  return (x1 - x0) * (y1 - y0) / smaller;
}

bool face_same_place(const FaceBox& a, const FaceBox& b, const FaceAssociationOptions& options) {
  return face_box_iou(a, b) > options.min_overlap || face_box_containment(a, b) > options.min_containment;
}

namespace {

bool detection_at_track(const FaceAssociationDetection& d, const FaceAssociationTrack& t,
                        const FaceAssociationOptions& options) {
  return t.live && (face_same_place(d.box, t.predicted_box, options) ||
                    face_same_place(d.landmark_box, t.landmark_box, options));
}

}  // namespace

FaceAssociation face_associate(const std::vector<FaceAssociationDetection>& detections,
                               const std::vector<FaceAssociationTrack>& tracks, const FaceAssociationOptions& options) {
  const size_t n = detections.size();
  FaceAssociation result;
  result.track_of.assign(n, FaceAssociation::k_new);

  // One face, one detection: NMS (IoU 0.4) keeps a wide box around a tight one; the better score stays.
  std::vector<size_t> by_score(n);
  for (size_t i = 0; i < n; ++i) by_score[i] = i;
  std::stable_sort(by_score.begin(), by_score.end(),
                   [&](size_t a, size_t b) { return detections[a].score > detections[b].score; });
  std::vector<size_t> kept;
  for (size_t i : by_score) {
    bool duplicate = false;
    for (size_t k : kept)
      duplicate = duplicate || face_same_place(detections[i].box, detections[k].box, options) ||
                  face_same_place(detections[i].landmark_box, detections[k].landmark_box, options);
    if (duplicate) result.track_of[i] = FaceAssociation::k_duplicate;
    else kept.push_back(i);
  }

  // Candidates (tier, distance, detection, track index): tier 0 = the detection is at a live track's place, tier 1 =
  // a known identity elsewhere. Greedy by tier then distance, one detection per track and one track per detection.
  std::vector<std::tuple<int, double, size_t, size_t>> pairs;
  for (size_t i : kept) {
    const FaceAssociationDetection& d = detections[i];
    for (size_t k = 0; k < tracks.size(); ++k) {
      const FaceAssociationTrack& t = tracks[k];
      bool described = d.has_descriptor && t.has_descriptor;
      double distance = described ? face_descriptor_distance(d.descriptor, t.descriptor) : 0.0;
      if (detection_at_track(d, t, options)) {
        // Position says "same face"; only a descriptor clearly of someone else overrules it (then the track ends
        // below and the detection goes on as another identity).
        if (!described || distance < options.merge_distance) pairs.emplace_back(0, distance, i, k);
        else if (distance < options.identity_distance) pairs.emplace_back(1, distance, i, k);
      } else if (described && distance < options.identity_distance) {
        pairs.emplace_back(1, distance, i, k);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::vector<bool> track_used(tracks.size(), false), detection_used(n, false);
  for (auto& [tier, distance, i, k] : pairs) {
    if (detection_used[i] || track_used[k]) continue;
    detection_used[i] = track_used[k] = true;
    result.track_of[i] = tracks[k].id;
  }

  // A live track left without a detection keeps being tracked by landmarks, unless a detection (given to another
  // track or a new one) sits at its place: then both would cover one face, and the detection wins.
  for (size_t k = 0; k < tracks.size(); ++k) {
    if (!tracks[k].live || track_used[k]) continue;
    for (size_t i : kept)
      if (detection_at_track(detections[i], tracks[k], options)) {
        result.ended.push_back(tracks[k].id);
        break;
      }
  }
  return result;
}

}  // namespace s3e
