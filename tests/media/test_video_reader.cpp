// Reader tests: every format decodes to the right frame count, order and pixels (against the pattern the clip
// was made from), rotation / aspect / variable frame rate are honoured, seeking is exact, limits reject inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "common/test_util.h"
#include "core/errors.h"
#include "media/frame.h"
#include "media/media_test_util.h"
#include "media/video_reader.h"

namespace fs = std::filesystem;
using namespace s3e;
using namespace s3e::test;

namespace {

struct FormatCase {
  std::string clip, codec;
  double max_mean_abs_diff;  // codec tolerance against the source pattern
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.clip; }

class ReaderFormat : public ::testing::TestWithParam<FormatCase> {};

TEST_P(ReaderFormat, DecodesEveryFrameInOrderWithinTolerance) {
  const FormatCase& c = GetParam();
  VideoReader reader(media_clip(c.clip).string());
  const VideoInfo& info = reader.info();
  EXPECT_EQ(info.codec, c.codec);
  EXPECT_EQ(info.width, k_clip_width);
  EXPECT_EQ(info.height, k_clip_height);
  EXPECT_NEAR(info.fps, k_clip_fps, 0.01);
  EXPECT_EQ(info.rotation, 0);
  EXPECT_EQ(info.is_image, c.clip.find('%') != std::string::npos);
  Frame frame;
  int n = 0;
  double worst = 0;
  while (reader.next(frame)) {
    ASSERT_EQ(frame.index, n);
    ASSERT_EQ(pattern_index(frame), n) << "frame " << n << " shows another frame's picture";
    EXPECT_NEAR(frame.pts, n / double(k_clip_fps), 0.002) << "frame " << n;
    worst = std::max(worst, frame_mean_abs_diff(frame, pattern_frame(k_clip_width, k_clip_height, n)));
    ++n;
  }
  EXPECT_EQ(n, k_clip_frames);
  EXPECT_LT(worst, c.max_mean_abs_diff);
  EXPECT_EQ(reader.count_frames(), k_clip_frames);
  EXPECT_EQ(reader.decode_errors(), 0);
}

TEST_P(ReaderFormat, SeeksToTheAskedFrame) {
  VideoReader reader(media_clip(GetParam().clip).string());
  Frame frame;
  for (int64_t target : {37, 5, 0, 22, 23, 39, 12, 1}) {
    reader.seek_frame(target);
    ASSERT_TRUE(reader.next(frame)) << "after seek to " << target;
    EXPECT_EQ(frame.index, target);
    EXPECT_EQ(pattern_index(frame), target) << "seek to " << target << " landed elsewhere";
    ASSERT_TRUE(reader.next(frame) || target == k_clip_frames - 1);
    if (target < k_clip_frames - 1) {
      EXPECT_EQ(pattern_index(frame), target + 1);
    }
  }
  reader.seek_time(1.0);  // frame 25 at 25 fps
  ASSERT_TRUE(reader.next(frame));
  EXPECT_EQ(pattern_index(frame), 25);
  EXPECT_THROW(reader.seek_frame(k_clip_frames), UsageError);
}

INSTANTIATE_TEST_SUITE_P(Formats, ReaderFormat,
                         ::testing::Values(FormatCase{"h264.mp4", "h264", 3.0}, FormatCase{"hevc.mkv", "hevc", 3.0},
                                           FormatCase{"vp9.webm", "vp9", 3.0}, FormatCase{"mpeg4.avi", "mpeg4", 3.0},
                                           FormatCase{"mjpeg.avi", "mjpeg", 3.0},
                                           FormatCase{"mpeg1.mpg", "mpeg1video", 3.0},
                                           FormatCase{"seq/frame_%05d.png", "png", 0.5}),
                         [](const auto& info) {
                           std::string name = info.param.clip.substr(0, info.param.clip.find_first_of("./"));
                           return name;
                         });

TEST(Reader, RotatedPhoneClipComesOutUpright) {
  for (int degrees : {90, 270}) {
    const fs::path clip = media_clip("rotated" + std::to_string(degrees) + ".mp4");
    VideoReader reader(clip.string());
    EXPECT_EQ(reader.info().rotation, degrees);
    EXPECT_EQ(reader.info().width, k_clip_height);
    EXPECT_EQ(reader.info().height, k_clip_width);
    EXPECT_EQ(reader.info().coded_width, k_clip_width);
    // The ffmpeg CLI's autorotation is the reference for which way is up.
    std::vector<Frame> cli = ffmpeg_decode_rgb(clip, k_clip_height, k_clip_width);
    ASSERT_EQ(cli.size(), static_cast<size_t>(k_clip_frames));
    Frame frame;
    int n = 0;
    while (reader.next(frame)) {
      ASSERT_EQ(frame.width, k_clip_height);
      EXPECT_LT(frame_mean_abs_diff(frame, cli[n]), 1.0) << "frame " << n;
      EXPECT_LT(frame_mean_abs_diff(frame, frame_rotated(pattern_frame(k_clip_width, k_clip_height, n), degrees)),
                3.0);
      ++n;
    }
    EXPECT_EQ(n, k_clip_frames);
  }
}

TEST(Reader, NonSquarePixelsAreScaledToSquare) {
  VideoReader reader(media_clip("sar.mp4").string());
  EXPECT_EQ(reader.info().sar_num, 2);
  EXPECT_EQ(reader.info().sar_den, 1);
  EXPECT_EQ(reader.info().width, 2 * k_clip_width);
  EXPECT_EQ(reader.info().height, k_clip_height);
  Frame frame;
  ASSERT_TRUE(reader.next(frame));
  EXPECT_EQ(frame.width, 2 * k_clip_width);
  Frame expected = frame_resize(pattern_frame(k_clip_width, k_clip_height, 0), 2 * k_clip_width, k_clip_height);
  EXPECT_LT(frame_mean_abs_diff(frame, expected), 3.0);
}

TEST(Reader, VariableFrameRateKeepsTimestamps) {
  VideoReader reader(media_clip("vfr.mp4").string());
  Frame frame;
  int n = 0;
  while (reader.next(frame)) {
    double expected = 0.04 * n + 0.02 * (n % 2);
    EXPECT_NEAR(frame.pts, expected, 0.0015) << "frame " << n;
    EXPECT_EQ(pattern_index(frame), n);
    ++n;
  }
  EXPECT_EQ(n, k_clip_frames);
  const std::vector<double>& times = reader.frame_times();
  ASSERT_EQ(times.size(), static_cast<size_t>(k_clip_frames));
  EXPECT_NEAR(times[3] - times[2], 0.06, 0.0015);
  EXPECT_NEAR(times[4] - times[3], 0.02, 0.0015);
  reader.seek_time(0.13);  // frame 3 is at 0.14
  ASSERT_TRUE(reader.next(frame));
  EXPECT_EQ(frame.index, 3);
  EXPECT_EQ(pattern_index(frame), 3);
}

TEST(Reader, ImageSequenceAndStillImagesAreExact) {
  VideoReader seq(media_clip("seq/frame_%05d.png").string());
  EXPECT_TRUE(seq.info().is_image);
  EXPECT_EQ(seq.info().codec, "png");
  Frame frame;
  ASSERT_TRUE(seq.next(frame));
  EXPECT_EQ(frame_mean_abs_diff(frame, pattern_frame(k_clip_width, k_clip_height, 0)), 0.0);

  VideoReader still(media_clip("frame.png").string());
  EXPECT_TRUE(still.info().is_image);
  ASSERT_TRUE(still.next(frame));
  EXPECT_EQ(frame_mean_abs_diff(frame, pattern_frame(k_clip_width, k_clip_height, 5)), 0.0);
  EXPECT_FALSE(still.next(frame));
}

TEST(Reader, ReportsAudioStreams) {
  VideoReader reader(media_clip("aac.mp4").string());
  ASSERT_EQ(reader.info().audio.size(), 1u);
  EXPECT_EQ(reader.info().audio[0].codec, "aac");
  EXPECT_EQ(reader.info().audio[0].sample_rate, 48000);
  EXPECT_NEAR(reader.info().audio[0].duration_s, 1.6, 0.05);
  EXPECT_NEAR(reader.info().duration_s, 1.6, 0.05);
  EXPECT_EQ(reader.info().frame_count, k_clip_frames);
  EXPECT_TRUE(reader.info().frame_count_exact);
  VideoReader silent(media_clip("h264.mp4").string());
  EXPECT_TRUE(silent.info().audio.empty());
}

TEST(Reader, LimitsRejectBeforeDecoding) {
  const std::string clip = media_clip("h264.mp4").string();
  MediaLimits narrow;
  narrow.max_width = 100;
  try {
    VideoReader reader(clip, narrow);
    FAIL() << "a 320-pixel-wide video passed a 100-pixel limit";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("media.max_width"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(clip), std::string::npos) << e.what();
  }
  MediaLimits short_limit;
  short_limit.max_duration_s = 1.0;
  EXPECT_THROW(VideoReader(clip, short_limit), DataError);
  MediaLimits few;
  few.max_frames = 10;
  EXPECT_THROW(VideoReader(clip, few), DataError);
}

// Every video in the shared data folder decodes to the frame count `ffprobe -count_frames` reports.
TEST(Reader, SharedVideosMatchFfprobeFrameCounts) {
  const fs::path dir = fs::path(S3E_SOURCE_DIR) / ".." / "shared" / "data" / "videos";
  if (!fs::is_directory(dir))
    GTEST_SKIP() << dir << " does not exist on this machine (the shared data folder next to the clone): nothing to "
                            "compare";
  int files = 0;
  for (auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    int64_t expected = std::stoll(ffprobe_value(path, "-count_frames -select_streams v:0 -show_entries "
                                                      "stream=nb_read_frames"));
    VideoReader reader(path);
    Frame frame;
    int64_t n = 0;
    while (reader.next(frame)) {
      ASSERT_EQ(frame.width, reader.info().width);
      ++n;
    }
    EXPECT_EQ(n, expected) << path;
    EXPECT_EQ(reader.count_frames(), expected) << path;
    ++files;
  }
  EXPECT_GT(files, 0);
}

}  // namespace
