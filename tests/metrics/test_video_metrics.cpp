// The arithmetic of `s3editor eval` (metrics/video_metrics.h, video_metrics_report.h) against values computed by
// hand: TL-ID and TG-ID on small similarity matrices (exclusion of near-zero pairs, gaps, the TG subsample), ID of
// a sequence with itself, centred vs raw cosine, locality of a known landmark move and of a known pixel change,
// flicker, jitter, and the per-video averaging of the summary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "metrics/video_metrics.h"
#include "metrics/video_metrics_report.h"

namespace s3e::test {
namespace {

PairSimilarity from_matrices(const std::vector<double>& s, const std::vector<double>& e, int64_t n) {
  return [=](int64_t i, int64_t j) { return std::make_pair(s[size_t(i * n + j)], e[size_t(i * n + j)]); };
}

// S and S' of three frames: TL pairs (0,1): .4/.8 and (1,2): .2/.4; TG adds (0,2): .5/.5.
const std::vector<double> k_s = {1, .8, .5, .8, 1, .4, .5, .4, 1};
const std::vector<double> k_e = {1, .4, .5, .4, 1, .2, .5, .2, 1};

TEST(TemporalIdentity, HandComputedMatrices) {
  const TemporalIdentity t = temporal_identity(from_matrices(k_s, k_e, 3), {0, 1, 2}, 0.1, 2000);
  EXPECT_NEAR(t.tl_id, 0.5, 1e-12);
  EXPECT_NEAR(t.tg_id, (0.5 + 1.0 + 0.5) / 3, 1e-12);
  EXPECT_EQ(t.tl_pairs, 2);
  EXPECT_EQ(t.tg_pairs, 3);
  EXPECT_EQ(t.tl_excluded + t.tg_excluded, 0);
  ASSERT_EQ(t.tl_per_frame.size(), 3u);
  EXPECT_NEAR(t.tl_per_frame[0], 0.5, 1e-12);
  EXPECT_NEAR(t.tl_per_frame[1], 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(t.tl_per_frame[2]));  // the last frame has no successor
}

TEST(TemporalIdentity, NearZeroSourceSimilarityIsExcludedAndCounted) {
  std::vector<double> s = k_s;
  s[1 * 3 + 2] = s[2 * 3 + 1] = 0.05;  // S(1,2) under 0.1: its ratio (4) would dominate
  const TemporalIdentity t = temporal_identity(from_matrices(s, k_e, 3), {0, 1, 2}, 0.1, 2000);
  EXPECT_NEAR(t.tl_id, 0.5, 1e-12);
  EXPECT_EQ(t.tl_pairs, 1);
  EXPECT_EQ(t.tl_excluded, 1);
  EXPECT_NEAR(t.tg_id, 0.75, 1e-12);
  EXPECT_EQ(t.tg_excluded, 1);
}

TEST(TemporalIdentity, AGapIsNotAnAdjacentPair) {
  const TemporalIdentity t = temporal_identity(from_matrices(k_s, k_e, 3), {0, 1, 3}, 0.1, 2000);
  EXPECT_EQ(t.tl_pairs, 1);
  EXPECT_NEAR(t.tl_id, 0.5, 1e-12);
  EXPECT_EQ(t.tg_pairs, 3);  // TG-ID compares all pairs of the face's frames
}

TEST(TemporalIdentity, GlobalPairsOverEvenlySpacedFramesWhenCapped) {
  // 5 frames; S' / S = 1 everywhere except pairs involving frame 1 or 3 (ratio 0): capped at 3 frames (0, 2, 4)
  // TG-ID is 1, uncapped it is the mean over all 10 pairs.
  const int64_t n = 5;
  std::vector<double> s(n * n, 0.5), e(n * n, 0.5);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (i == 1 || i == 3 || j == 1 || j == 3) e[size_t(i * n + j)] = 0;
  const TemporalIdentity capped = temporal_identity(from_matrices(s, e, n), {0, 1, 2, 3, 4}, 0.1, 3);
  EXPECT_EQ(capped.tg_pairs, 3);
  EXPECT_NEAR(capped.tg_id, 1.0, 1e-12);
  const TemporalIdentity all = temporal_identity(from_matrices(s, e, n), {0, 1, 2, 3, 4}, 0.1, 2000);
  EXPECT_EQ(all.tg_pairs, 10);
  EXPECT_NEAR(all.tg_id, 3.0 / 10.0, 1e-12);  // only (0,2), (0,4), (2,4) keep their similarity
}

TEST(DescriptorSimilarity, CentredAndRawCosine) {
  const float a[2] = {1, 0}, b[2] = {0, 1};
  const std::vector<float> mean = {0.5f, 0.5f};
  EXPECT_NEAR(descriptor_similarity(a, b, 2, DescriptorSimilarity::cosine, mean), 0.0, 1e-12);
  EXPECT_NEAR(descriptor_similarity(a, b, 2, DescriptorSimilarity::cosine_centred, mean), -1.0, 1e-12);
  const float c[2] = {3, 1};
  EXPECT_NEAR(descriptor_similarity(c, c, 2, DescriptorSimilarity::cosine_centred, mean), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(descriptor_similarity(mean.data(), c, 2, DescriptorSimilarity::cosine_centred, mean)));
}

TEST(TemporalIdentity, AVideoWithItselfScoresOne) {
  // Descriptors of 4 frames; the edited video is the source: every ratio is 1.
  const std::vector<std::vector<float>> d = {{1, 2, 0}, {1.1f, 1.9f, 0.2f}, {0.9f, 2.2f, -0.1f}, {1, 2.1f, 0.1f}};
  const std::vector<float> mean = {0.2f, 0.3f, 0.1f};
  auto sim = [&](int64_t i, int64_t j) {
    const double v = descriptor_similarity(d[size_t(i)].data(), d[size_t(j)].data(), 3,
                                           DescriptorSimilarity::cosine_centred, mean);
    return std::make_pair(v, v);
  };
  const TemporalIdentity t = temporal_identity(sim, {10, 11, 12, 13}, 0.1, 2000);
  EXPECT_DOUBLE_EQ(t.tl_id, 1.0);
  EXPECT_DOUBLE_EQ(t.tg_id, 1.0);
  for (auto& x : d) EXPECT_NEAR(descriptor_similarity(x.data(), x.data(), 3, DescriptorSimilarity::cosine_centred, mean), 1.0, 1e-12);
}

TEST(Locality, KnownLandmarkMove) {
  FaceLandmarks source{}, edited{};
  for (int i = 0; i < 68; ++i) source[size_t(i)] = edited[size_t(i)] = {double(i), double(2 * i)};
  for (int i = 48; i < 68; ++i) edited[size_t(i)].x += 1;  // mouth: 20 points by 1 px
  for (int i = 36; i < 48; ++i) edited[size_t(i)].y += 1;  // eyes: 12 points by 1 px
  std::vector<bool> mouth(68, false);
  for (int i = 48; i < 68; ++i) mouth[size_t(i)] = true;
  EXPECT_NEAR(landmark_change_locality(source, edited, mouth), 20.0 / 32.0, 1e-12);
  EXPECT_TRUE(std::isnan(landmark_change_locality(source, source, mouth)));  // nothing moved
}

TEST(Locality, KnownPixelChange) {
  Frame a = frame_make(10, 10, 50, 50, 50), b = a;
  std::vector<uint8_t> target(100, 0);
  for (int x = 2; x < 4; ++x)
    for (int y = 2; y < 4; ++y) target[size_t(y * 10 + x)] = 1;
  // 4 changed pixels inside the target, 6 outside it (all inside the rectangle), one outside the rectangle.
  for (int x = 2; x < 4; ++x)
    for (int y = 2; y < 4; ++y) b.pixel(x, y)[1] = 60;
  for (int x = 5; x < 8; ++x)
    for (int y = 5; y < 7; ++y) b.pixel(x, y)[0] = 40;
  b.pixel(9, 9)[2] = 255;
  const int64_t rect[4] = {0, 0, 9, 9};
  const PixelChange c = pixel_change(a, b, rect, target, 3);
  EXPECT_DOUBLE_EQ(c.total, 10 * 7.0);  // |10| - 3 noise levels per changed pixel
  EXPECT_DOUBLE_EQ(c.in_target, 4 * 7.0);
  // Changes within the noise are not counted; a rectangle beyond the frame is clipped.
  const int64_t big[4] = {-5, -5, 100, 100};
  EXPECT_DOUBLE_EQ(pixel_change(a, b, big, target, 10).total, 195.0);  // only the 205-level change
}

TEST(Flicker, ConstantResidualDoesNotFlicker) {
  Frame s0 = frame_make(8, 8, 10, 10, 10), s1 = frame_make(8, 8, 30, 30, 30);
  Frame e0 = frame_make(8, 8, 14, 14, 14), e1 = frame_make(8, 8, 34, 34, 34);  // residual +4 on both frames
  const int64_t rect[4] = {0, 0, 8, 8};
  ResidualChange c = residual_change(s0, e0, s1, e1, rect);
  EXPECT_DOUBLE_EQ(c.flicker, 0.0);
  EXPECT_DOUBLE_EQ(c.residual, 4.0);
  Frame e1b = frame_make(8, 8, 24, 24, 24);  // residual -6: changes by 10
  c = residual_change(s0, e0, s1, e1b, rect);
  EXPECT_DOUBLE_EQ(c.flicker, 10.0);
  EXPECT_DOUBLE_EQ(c.residual, 6.0);
}

TEST(Jitter, OneDisplacedFrame) {
  std::vector<FaceLandmarks> seq(5);
  for (int t = 0; t < 5; ++t)
    for (int i = 0; i < 68; ++i) seq[size_t(t)][size_t(i)] = {double(i + 3 * t), double(i)};  // uniform motion
  EXPECT_NEAR(landmark_sequence_jitter(seq, {0, 1, 2, 3, 4}), 0.0, 1e-12);
  for (auto& p : seq[2]) p.x += 2;
  // Triples centred on frames 1, 2, 3: 1, 2, 1 px.
  EXPECT_NEAR(landmark_sequence_jitter(seq, {0, 1, 2, 3, 4}), 4.0 / 3.0, 1e-12);
  // A gap breaks the triples around it: only the one centred on frame 1 (0, 1, 2) remains.
  EXPECT_NEAR(landmark_sequence_jitter(seq, {0, 1, 2, 5, 6}), 1.0, 1e-12);
}

TEST(VideoMetricsSummary, MeansOverEvaluatedVideosCountsSummed) {
  nlohmann::json a = {{"evaluated", true}, {"id", 0.8}, {"tl_id", 0.9}, {"frames", 10}, {"frames_no_face", 2},
                      {"attributes", {{"smile", {{"asked", 0.1}, {"achieved", 0.06}}}}}};
  nlohmann::json b = {{"evaluated", true}, {"id", 1.0}, {"tl_id", nullptr}, {"frames", 5}, {"frames_no_face", 0},
                      {"attributes", {{"smile", {{"asked", 0.1}, {"achieved", 0.10}}}}}};
  nlohmann::json c = {{"evaluated", false}, {"video", "c"}, {"id", 0.0}, {"frames", 7}, {"status", "failed: x"}};
  const nlohmann::json doc = video_metrics_document({a, b, c}, "e.h5", "net");
  const nlohmann::json& s = doc["summary"];
  EXPECT_EQ(s["videos"], 3);
  EXPECT_EQ(s["videos_evaluated"], 2);
  EXPECT_NEAR(s["id"].get<double>(), 0.9, 1e-12);      // the failed video's 0 does not count
  EXPECT_NEAR(s["tl_id"].get<double>(), 0.9, 1e-12);   // a null is not a zero
  EXPECT_TRUE(s["tg_id"].is_null());                    // no video measured it
  EXPECT_EQ(s["frames"], 22);
  EXPECT_EQ(s["frames_no_face"], 2);
  EXPECT_NEAR(doc["attributes"]["smile"]["achieved"].get<double>(), 0.08, 1e-12);
  const std::string csv = video_metrics_csv(doc);
  EXPECT_NE(csv.find("\nall,"), std::string::npos);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // header, 3 videos, all
}

}  // namespace
}  // namespace s3e::test
