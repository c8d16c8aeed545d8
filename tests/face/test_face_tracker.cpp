// Tracking through a synthetic clip built from a real face (face-api sample photo 1, half size): the face slides
// out through the right edge, stays away, re-enters, and then a shot cut switches to another photo with several
// people. Checks: the detector runs only every N frames (and on the cut), no face while it is away, one track for
// the face before and after its absence, a reported shot cut with new identities after it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "face/face_tracker.h"
#include "face_test_util.h"

namespace s3e::test {
namespace {

Image half(const Image& in) {
  Image out(in.width / 2, in.height / 2);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixel(x, y)[c] = static_cast<uint8_t>((in.pixel(2 * x, 2 * y)[c] + in.pixel(2 * x + 1, 2 * y)[c] +
                                                   in.pixel(2 * x, 2 * y + 1)[c] + in.pixel(2 * x + 1, 2 * y + 1)[c] + 2) / 4);
  return out;
}

// A frame with a gradient background and `sprite` pasted with its top-left at (x, y) (clipped).
Image compose(const Image& sprite, int x, int y, int width, int height) {
  Image f(width, height);
  for (int yy = 0; yy < height; ++yy)
    for (int xx = 0; xx < width; ++xx) {
      uint8_t* p = f.pixel(xx, yy);
      p[0] = static_cast<uint8_t>(60 + 80 * xx / width), p[1] = static_cast<uint8_t>(90 + 40 * yy / height), p[2] = 110;
    }
  for (int yy = 0; yy < sprite.height; ++yy)
    for (int xx = 0; xx < sprite.width; ++xx) {
      int fx = x + xx, fy = y + yy;
      if (fx < 0 || fy < 0 || fx >= width || fy >= height) continue;
      std::copy_n(sprite.pixel(xx, yy), 3, f.pixel(fx, fy));
    }
  return f;
}

Image crop_of(const Image& in, int x, int y, int w, int h) {
  Image out(w, h);
  for (int yy = 0; yy < h; ++yy) std::copy_n(in.pixel(x, y + yy), 3 * w, out.pixel(0, yy));
  return out;
}

TEST(FaceTracker, FaceLeavesAndReentersThenAShotCut) {
  FaceModelsOptions mo;
  mo.load_attributes = false;
  FaceModels models(mo);
  Image photo = half(image_decode(face_sample_photos()[0]));
  auto faces = models.analyze(photo.view());
  ASSERT_FALSE(faces.empty());
  const FaceBox& b = faces[0].detection.box;  // a 1.8x box around the first face is the sprite
  int side = static_cast<int>(std::max(b.width, b.height) * 1.8);
  int sx = std::clamp(static_cast<int>(b.x + b.width / 2 - side / 2), 0, photo.width - side);
  int sy = std::clamp(static_cast<int>(b.y + b.height / 2 - side / 2), 0, photo.height - side);
  Image sprite = crop_of(photo, sx, sy, side, side);
  Image other = crop_of(half(image_decode(face_sample_photos()[2])), 0, 0, 640, 480);

  const int W = 640, H = 480, N = 4, total = 60;
  // 0 inside, 1 partly visible, 2 away, 3 other scene, 4 back but not yet detected (the detector runs every N)
  std::vector<int> state(total);
  FaceTrackerOptions options;
  options.detect_every = N;
  FaceTracker tracker(models, options);
  long runs_before = models.detector_runs();
  for (int t = 0; t < total; ++t) {
    Image frame;
    if (t < 24) {  // slides right by 30 px per frame and out through the edge
      int x = 60 + 30 * t;
      frame = compose(sprite, x, 60, W, H);
      state[t] = x + side <= W ? 0 : (x < W ? 1 : 2);
    } else if (t < 34) {
      frame = compose(sprite, W + 10, 60, W, H), state[t] = 2;
    } else if (t < 50) {
      frame = compose(sprite, 200 + 3 * (t - 34), 80, W, H), state[t] = t < 36 ? 4 : 0;  // back
    } else {
      frame = other, state[t] = 3;
    }
    const TrackFrame& tf = tracker.push(frame.view());
    if (std::getenv("S3E_FACE_TEST_VERBOSE"))
      std::printf("frame %d state %d det %d cut %d faces %zu id %d\n", t, state[t], tf.detector_ran, tf.shot_cut,
                  tf.faces.size(), tf.faces.empty() ? -1 : tf.faces[0].track_id);
  }
  const auto& frames = tracker.frames();
  ASSERT_EQ(frames.size(), size_t(total));

  // The detector ran exactly on frames 0, N, 2N, ... and on the cut (frame 50), nowhere else.
  long expected_runs = 0;
  for (int t = 0; t < total; ++t) {
    bool expected = t % N == 0 || t == 50;
    EXPECT_EQ(frames[t].detector_ran, expected) << "frame " << t;
    expected_runs += expected;
  }
  EXPECT_EQ(models.detector_runs() - runs_before, expected_runs);

  int first_id = -1;
  std::set<int> after_cut;
  for (int t = 0; t < total; ++t) {
    const auto& f = frames[t];
    EXPECT_EQ(f.shot_cut, t == 50) << "frame " << t;
    if (state[t] == 2) {
      EXPECT_TRUE(f.faces.empty()) << "frame " << t << ": a face while it is away";
    }
    if (state[t] == 0) {
      ASSERT_EQ(f.faces.size(), 1u) << "frame " << t;
      if (first_id < 0) first_id = f.faces[0].track_id;
      EXPECT_EQ(f.faces[0].track_id, first_id) << "frame " << t << ": the face changed identity";
    }
    if (state[t] == 3) {
      for (auto& face : f.faces) after_cut.insert(face.track_id);
    }
  }
  // The re-entered face is the same track, seen in two segments.
  EXPECT_GE(tracker.tracks()[size_t(first_id)].segments, 2);
  // After the cut: several people, all new identities.
  EXPECT_GE(after_cut.size(), 2u);
  EXPECT_EQ(after_cut.count(first_id), 0u);
  auto stats = track_stats(frames);
  EXPECT_GT(stats.frames_with_several, 0);
  EXPECT_EQ(stats.shot_cuts, 1);
}

}  // namespace
}  // namespace s3e::test
