// face_group_media.h — test clips made with the ffmpeg CLI from face-api's sample photos, with their ground truth:
// photos scaled (possibly anisotropically) and placed on a plain canvas, moving by whole pixels per frame, shown
// over a range of frames. Every face's box in every frame follows from the photo's own detection at full size.
#pragma once
#include <filesystem>
#include <vector>

#include "face/face_types.h"

namespace s3e::test {

struct GroupPlacement {
  int photo = 0;               // index into face_sample_photos()
  int width = 0, height = 0;   // size on the canvas
  int x = 0, y = 0;            // top-left at frame `from`
  int vx = 0, vy = 0;          // pixels per frame
  int from = 0, to = 1 << 30;  // shown on frames [from, to)
};

struct GroupFace {
  int id = -1;  // one id per (photo, face): the same person across placements keeps it
  FaceBox box;  // on the canvas
  bool frontal = true;  // found at full size with the default score 0.5 (else: sample2's profile face, score 0.31)
};

struct GroupClip {
  std::filesystem::path path;
  int width = 0, height = 0, frames = 0;
  std::vector<GroupPlacement> placements;
  std::vector<std::vector<FaceDetection>> photo_faces;  // per sample photo: its faces, photo pixels
  std::vector<std::pair<int, int>> photo_sizes;   // per sample photo: width, height

  // The faces visible (centre inside the canvas) on a frame.
  std::vector<GroupFace> faces_at(int frame) const;
};

// The faces TinyFaceDetector@512 finds in each full-size sample photo at score 0.3: the 21 it finds at 0.5 and
// sample2's profile face (0.31), i.e. all 22 (computed once per process).
const std::vector<std::vector<FaceDetection>>& group_photo_faces();
std::vector<std::pair<int, int>> group_photo_sizes();

// Writes `path` (H.264, CRF 12, 25 fps) with the placements over a grey-blue canvas; throws on an ffmpeg failure.
GroupClip group_clip_make(const std::filesystem::path& path, int width, int height, int frames,
                          const std::vector<GroupPlacement>& placements);

// The six sample photos scaled by `scale`, on a 3x2 grid of a width x height canvas, each drifting a few pixels
// per frame in its own direction.
std::vector<GroupPlacement> group_grid(int width, int height, double scale);

// The ground-truth face whose box holds the centre of `box` (the one with the nearest centre), else -1.
int group_face_of(const std::vector<GroupFace>& truth, const FaceBox& box);

}  // namespace s3e::test
