// face_association.h — on a detector frame, which detection continues which track, under the rule the tracker
// relies on: two live tracks never cover one face. A detection at the place of a live track (its predicted crop or
// its landmark box overlaps: IoU or containment) continues that track unless the descriptors say it is clearly
// someone else; elsewhere a detection takes a known identity by descriptor distance, or starts a new track. Two
// detections of one face (a wide and a tight box that NMS keeps both of) count once, and a live track whose place a
// detection took for another track ends there. Torch-free: it works on boxes and descriptors only.
#pragma once
#include <vector>

#include "face/face_types.h"

namespace s3e {

struct FaceAssociationOptions {
  double identity_distance = 0.5;  // a detection elsewhere is a known identity under this descriptor distance
  double merge_distance = 0.8;     // a detection at a live track's place continues it under this distance
  double min_overlap = 0.3;        // "same place": IoU of the boxes above this ...
  double min_containment = 0.6;    // ... or the intersection covers this share of the smaller box
};

struct FaceAssociationDetection {
  FaceBox box;           // detector box
  FaceBox landmark_box;  // bbox of the 68 landmarks from the detection's crop
  double score = 0;
  bool has_descriptor = false;
  FaceDescriptor descriptor{};
};

struct FaceAssociationTrack {
  int id = -1;
  bool live = false;        // tracked in the previous frame: predicted_box and landmark_box are set
  FaceBox predicted_box;    // where its crop would be placed in this frame
  FaceBox landmark_box;     // its last landmarks' bbox
  bool has_descriptor = false;
  FaceDescriptor descriptor{};  // the identity (mean descriptor)
};

struct FaceAssociation {
  static constexpr int k_new = -1;        // start a new track
  static constexpr int k_duplicate = -2;  // a second detection of a face another detection holds: dropped
  std::vector<int> track_of;              // per detection: a track id, k_new or k_duplicate
  std::vector<int> ended;                 // live tracks that stop here: a detection for another track holds their face
};

// Intersection area over the smaller box's area (0 when either is empty): 1 when one box lies inside the other.
double face_box_containment(const FaceBox& a, const FaceBox& b);

// Whether two boxes cover one face (IoU above min_overlap or containment above min_containment).
bool face_same_place(const FaceBox& a, const FaceBox& b, const FaceAssociationOptions& options);

FaceAssociation face_associate(const std::vector<FaceAssociationDetection>& detections,
                               const std::vector<FaceAssociationTrack>& tracks, const FaceAssociationOptions& options);

}  // namespace s3e
