// face_tracker.h — faces through a video. The detector runs every N frames (and on a shot cut); in between, the
// landmark net runs on a crop placed from the previous frame's landmarks. Each track is one identity: detections
// are matched to tracks by place first (face_association.h), then by descriptor distance, so a face that leaves and
// re-enters gets its old track back, and two tracks never cover one face (a detection at a track's place continues
// it and re-fits its crop; tracked crops that drift onto one face are merged). Frames with no face, several faces or a shot cut are recorded in the result, never an error.
// After the pass, track_smooth() smooths each track's landmarks and FFHQ crop quads over time.
#pragma once
#include <cstdint>
#include <vector>

#include "face/face_align.h"
#include "face/face_models.h"
#include "face/face_types.h"

namespace s3e {

struct FaceTrackerOptions {
  int detect_every = 5;               // run the detector on frames 0, N, 2N, ... (and after a shot cut)
  double identity_distance = 0.5;     // Euclidean descriptor distance under which a detection is a known identity
  double continue_distance = 0.8;     // looser bound for a detection at the place of a track seen in the previous
                                      // frame (same face unless its descriptor is clearly someone else's)
  double min_overlap = 0.3;           // "same place": IoU of boxes (detection vs predicted crop, landmark boxes) ...
  double min_containment = 0.6;       // ... or the intersection covers this share of the smaller box
  double cut_threshold = 0.15;        // shot cut: mean |difference| of 32x32 grey thumbnails, 0..1
  double min_inside = 0.6;            // a tracked crop must keep this share of its area inside the frame
  double max_scale_change = 1.5;      // landmark box size change per frame beyond which the track is lost
  int max_detector_misses = 2;        // detector runs a track may be missed by (tracked by landmarks meanwhile)
};

struct TrackedFace {
  int track_id = -1;
  bool detected = false;          // from a detection this frame (else propagated from the previous frame)
  double score = 0;               // detection score (detected frames)
  FaceRect crop;                  // the crop the landmark net saw
  FaceLandmarks landmarks{};      // raw, image pixels
  FaceLandmarks smoothed{};       // after track_smooth() (= raw before)
  FaceQuad quad;                  // FFHQ quad of the smoothed geometry (after track_smooth(): smoothed)
};

struct TrackFrame {
  int64_t index = 0;
  bool detector_ran = false;
  bool shot_cut = false;
  std::vector<TrackedFace> faces;
};

struct FaceTrack {
  int id = -1;
  FaceDescriptor descriptor{};  // mean of the descriptors at its detections
  int descriptor_count = 0;
  int64_t first_frame = -1, last_frame = -1;
  int64_t frames = 0;
  int segments = 0;  // contiguous runs (a face that leaves and re-enters has 2)
};

class FaceTracker {
 public:
  FaceTracker(const FaceModels& models, const FaceTrackerOptions& options = {});

  // Processes the next frame (frames must come in order).
  const TrackFrame& push(ImageView frame);

  const std::vector<TrackFrame>& frames() const { return frames_; }
  std::vector<TrackFrame>& frames() { return frames_; }
  const std::vector<FaceTrack>& tracks() const { return tracks_; }

 private:
  struct Active {
    int track_id;
    FaceLandmarks landmarks;
    FaceBox box_in_landmarks;  // detection box relative to the landmark bbox (x, y offsets and sizes as ratios)
    FacePoint velocity;        // landmark box centre displacement over the last frame
    int misses = 0;            // consecutive detector runs that did not see this track
  };
  void detect_frame(ImageView frame, TrackFrame& out);
  // Landmark net on crops placed from the previous landmarks; records and returns the tracks that survive.
  std::vector<Active> propagate(ImageView frame, std::vector<Active> tracks, TrackFrame& out);
  bool shot_cut(ImageView frame);
  FaceBox predicted_box(const Active& a) const;
  void record(TrackFrame& out, const Active& a, bool detected, double score, const FaceRect& crop);

  const FaceModels& models_;
  FaceTrackerOptions options_;
  std::vector<TrackFrame> frames_;
  std::vector<FaceTrack> tracks_;
  std::vector<Active> active_;
  std::vector<float> thumbnail_;
  int64_t next_index_ = 0;
  int64_t last_detection_ = -1;
};

// Smooths each track's landmarks (sigma_landmarks frames) and FFHQ quads (sigma_quad frames) within its
// contiguous segments (split at gaps and shot cuts); fills TrackedFace::smoothed and ::quad.
void track_smooth(std::vector<TrackFrame>& frames, double sigma_landmarks, double sigma_quad);

struct TrackStats {
  int64_t frames = 0, frames_with_face = 0, frames_with_several = 0, shot_cuts = 0, detector_runs = 0;
  double jitter_raw = 0, jitter_smoothed = 0;  // landmark_jitter() over the longest track's segments, pixels
  int main_track = -1;                         // the track present in most frames
};
TrackStats track_stats(const std::vector<TrackFrame>& frames);

}  // namespace s3e
