// Temporal smoothing and jitter.
#include <gtest/gtest.h>

#include <cmath>

#include <random>
#include "face/face_smooth.h"
#include "face/face_tracker.h"

namespace s3e::test {
namespace {

FaceLandmarks landmarks_at(double x, double y) {
  FaceLandmarks l;
  for (int i = 0; i < 68; ++i) l[i] = {x + (i % 10) * 5.0, y + (i / 10) * 5.0};
  // eyes and mouth where face_quad_ffhq expects them
  for (int i = 36; i < 42; ++i) l[i] = {x + 10 + i % 3, y + 20};
  for (int i = 42; i < 48; ++i) l[i] = {x + 40 + i % 3, y + 20};
  for (int i = 48; i < 68; ++i) l[i] = {x + 25 + (i - 58), y + 50};
  return l;
}

TEST(FaceSmooth, ConstantStaysConstantAndSigmaZeroIsIdentity) {
  std::vector<std::vector<double>> s(20, std::vector<double>{3.0, -1.5});
  smooth_gaussian(s, 2.0);
  for (auto& r : s) {
    EXPECT_NEAR(r[0], 3.0, 1e-12);
    EXPECT_NEAR(r[1], -1.5, 1e-12);
  }
  std::vector<std::vector<double>> t = {{1}, {5}, {2}};
  smooth_gaussian(t, 0.0);
  EXPECT_EQ(t[1][0], 5);
}

TEST(FaceSmooth, ReducesJitterAndKeepsTheMotion) {
  std::vector<FaceLandmarks> frames;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1.5);
  for (int t = 0; t < 200; ++t) {
    FaceLandmarks l = landmarks_at(100 + 0.5 * t, 80);
    for (auto& p : l) p.x += noise(rng), p.y += noise(rng);
    frames.push_back(l);
  }
  auto smooth = smooth_landmarks(frames, 2.0);
  double raw_j = landmark_jitter(frames), smooth_j = landmark_jitter(smooth);
  EXPECT_GT(raw_j, 1.0);
  EXPECT_LT(smooth_j, raw_j / 5);
  // The drift (0.5 px/frame) survives: interior frames follow the true path within the noise's smoothed size.
  for (int t = 20; t < 180; ++t) EXPECT_NEAR(smooth[t][0].x, 100 + 0.5 * t, 1.5);
}

TEST(FaceSmooth, TracksAreSmoothedWithinSegmentsOnly) {
  // One track, two segments separated by a shot cut with a 100 px jump: the jump must stay sharp.
  std::vector<TrackFrame> frames;
  for (int t = 0; t < 20; ++t) {
    TrackFrame f;
    f.index = t;
    f.shot_cut = t == 10;
    TrackedFace face;
    face.track_id = 0;
    face.landmarks = landmarks_at(t < 10 ? 100 : 200, 80);
    f.faces.push_back(face);
    frames.push_back(f);
  }
  track_smooth(frames, 3.0, 3.0);
  EXPECT_NEAR(frames[9].faces[0].smoothed[0].x, 100, 1e-9);
  EXPECT_NEAR(frames[10].faces[0].smoothed[0].x, 200, 1e-9);
  EXPECT_NEAR(frames[9].faces[0].quad.corners[0].x, face_quad_ffhq(frames[9].faces[0].landmarks).corners[0].x, 1e-9);
  auto stats = track_stats(frames);
  EXPECT_EQ(stats.frames_with_face, 20);
  EXPECT_EQ(stats.shot_cuts, 1);
  EXPECT_EQ(stats.main_track, 0);
}

}  // namespace
}  // namespace s3e::test
