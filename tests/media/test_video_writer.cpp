// Writer and image tests: write-then-read round trips keep frame count, rate, timestamps and pixels; audio is
// copied or re-encoded to AAC with its duration; files appear only when complete.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "media/image_io.h"
#include "media/media_test_util.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace fs = std::filesystem;
using namespace s3e;
using namespace s3e::test;

namespace {

// Files in `dir` other than `keep` (to catch temporary files left behind).
std::vector<std::string> other_files(const fs::path& dir, const std::string& keep) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != keep) out.push_back(e.path().filename().string());
  return out;
}

double audio_duration(const fs::path& file) {
  return std::stod(ffprobe_value(file, "-select_streams a:0 -show_entries stream=duration"));
}

// Reads `source`, writes every frame to `out` with options like the source, returns the source frame count.
int copy_video(const fs::path& source, const fs::path& out) {
  VideoReader reader(source.string());
  VideoWriter writer(out.string(), video_writer_options_like(reader.info()));
  Frame frame;
  int n = 0;
  while (reader.next(frame)) {
    writer.write(frame);
    ++n;
  }
  writer.close();
  return n;
}

TEST(Writer, PatternRoundTripKeepsCountRateAndPixels) {
  TempDir dir("media_writer");
  const fs::path out = dir / "pattern.mp4";
  VideoWriterOptions options;
  options.fps_num = 30000;
  options.fps_den = 1001;
  options.crf = 12;
  {
    VideoWriter writer(out.string(), options);
    for (int i = 0; i < k_clip_frames; ++i) writer.write(pattern_frame(k_clip_width, k_clip_height, i));  // pts unset
    EXPECT_FALSE(fs::exists(out)) << "the final name must appear only at close()";
    writer.close();
  }
  EXPECT_EQ(other_files(dir.path(), "pattern.mp4").size(), 0u);
  // Independent check with ffprobe: every frame is in the file (none dropped at the end) at the asked rate.
  EXPECT_EQ(ffprobe_value(out, "-count_frames -select_streams v:0 -show_entries stream=nb_read_frames"),
            std::to_string(k_clip_frames));
  EXPECT_EQ(ffprobe_value(out, "-select_streams v:0 -show_entries stream=avg_frame_rate"), "30000/1001");
  VideoReader reader(out.string());
  EXPECT_EQ(reader.info().codec, "h264");
  EXPECT_NEAR(reader.info().duration_s, k_clip_frames * 1001.0 / 30000, 1e-3);
  Frame frame;
  int n = 0;
  while (reader.next(frame)) {
    EXPECT_EQ(pattern_index(frame), n);
    EXPECT_NEAR(frame.pts, n * 1001.0 / 30000, 1e-3);
    EXPECT_LT(frame_mean_abs_diff(frame, pattern_frame(k_clip_width, k_clip_height, n)), 3.0);
    ++n;
  }
  EXPECT_EQ(n, k_clip_frames);
}

TEST(Writer, CopiesAacAudioAndKeepsCountAndRate) {
  TempDir dir("media_writer");
  const fs::path source = media_clip("aac.mp4"), out = dir / "copy.mp4";
  EXPECT_EQ(copy_video(source, out), k_clip_frames);
  VideoReader reader(out.string());
  EXPECT_EQ(reader.count_frames(), k_clip_frames);
  EXPECT_NEAR(reader.info().fps, k_clip_fps, 1e-6);
  ASSERT_EQ(reader.info().audio.size(), 1u);
  EXPECT_EQ(reader.info().audio[0].codec, "aac");
  EXPECT_NEAR(audio_duration(out), audio_duration(source), 0.001);  // stream copy: identical
}

TEST(Writer, ReencodesAudioTheContainerCannotHoldToAacOfTheSameDuration) {
  TempDir dir("media_writer");
  const fs::path source = media_clip("pcm.avi"), out = dir / "from_pcm.mp4";
  ASSERT_EQ(ffprobe_value(source, "-select_streams a:0 -show_entries stream=codec_name"), "pcm_s16le");
  EXPECT_EQ(copy_video(source, out), k_clip_frames);
  EXPECT_EQ(ffprobe_value(out, "-select_streams a:0 -show_entries stream=codec_name"), "aac");
  EXPECT_NEAR(audio_duration(out), 1.6, 0.025);  // within one AAC frame (1024 samples at 48 kHz)
  VideoReader reader(out.string());
  EXPECT_EQ(reader.count_frames(), k_clip_frames);
}

TEST(Writer, VariableFrameRateRoundTripKeepsTimestamps) {
  TempDir dir("media_writer");
  const fs::path out = dir / "vfr_copy.mp4";
  copy_video(media_clip("vfr.mp4"), out);
  VideoReader a(media_clip("vfr.mp4").string()), b(out.string());
  ASSERT_EQ(b.count_frames(), k_clip_frames);
  for (int i = 0; i < k_clip_frames; ++i) EXPECT_NEAR(b.frame_times()[i], a.frame_times()[i], 1e-3) << i;
}

TEST(Writer, OddSizeIsCroppedToEven) {
  TempDir dir("media_writer");
  const fs::path out = dir / "odd.mp4";
  VideoWriter writer(out.string());
  Frame odd = pattern_frame(161, 121, 3);
  writer.write(odd);
  writer.close();
  VideoReader reader(out.string());
  EXPECT_EQ(reader.info().width, 160);
  EXPECT_EQ(reader.info().height, 120);
}

TEST(Writer, BadArgumentsAreUsageErrorsAndLeaveNothing) {
  TempDir dir("media_writer");
  EXPECT_THROW(VideoWriter((dir / "x.xyz").string()), UsageError);
  std::ofstream(dir / "a_file") << "x";
  EXPECT_THROW(VideoWriter((dir / "a_file" / "out.mp4").string()), UsageError);  // parent is a file
  VideoWriterOptions bad_preset;
  bad_preset.preset = "warp-speed";
  {
    VideoWriter writer((dir / "preset.mp4").string(), bad_preset);
    EXPECT_THROW(writer.write(pattern_frame(64, 64, 0)), UsageError);
  }
  {
    VideoWriter writer((dir / "sizes.mp4").string());
    writer.write(pattern_frame(64, 64, 0));
    EXPECT_THROW(writer.write(pattern_frame(32, 32, 1)), UsageError);
    Frame late = pattern_frame(64, 64, 2);
    late.pts = 1.0;
    writer.write(late);
    Frame early = pattern_frame(64, 64, 3);
    early.pts = 0.5;
    EXPECT_THROW(writer.write(early), UsageError);
    // destroyed without close(): as after any error
  }
  {
    VideoWriter writer((dir / "empty.mp4").string());
    EXPECT_THROW(writer.close(), UsageError);
  }
  EXPECT_EQ(other_files(dir.path(), "a_file"), std::vector<std::string>{}) << "partial or temporary files left";
}

TEST(ImageIo, PngRoundTripIsExactAndJpegClose) {
  TempDir dir("media_image");
  Frame f = pattern_frame(97, 61, 77);  // odd sizes on purpose
  image_write_png((dir / "f.png").string(), f);
  image_write_jpeg((dir / "f.jpg").string(), f, 95);
  EXPECT_EQ(frame_mean_abs_diff(image_read_rgb((dir / "f.png").string()), f), 0.0);
  EXPECT_LT(frame_mean_abs_diff(image_read_rgb((dir / "f.jpg").string()), f), 4.0);
  // Other decoders agree on what was written.
  EXPECT_EQ(ffprobe_value(dir / "f.png", "-show_entries stream=codec_name,width,height"), "png\n97\n61");
  EXPECT_EQ(ffprobe_value(dir / "f.jpg", "-show_entries stream=codec_name"), "mjpeg");
  EXPECT_EQ(other_files(dir.path(), "f.png").size(), 1u);  // f.jpg only: no temporary files
  EXPECT_THROW(image_write_png((dir / "f.png" / "x.png").string(), f), UsageError);
  EXPECT_THROW(image_write_jpeg((dir / "q.jpg").string(), f, 0), UsageError);
  Frame broken = f;
  broken.rgb.resize(10);
  EXPECT_THROW(image_write_png((dir / "b.png").string(), broken), UsageError);
}

TEST(ImageIo, ReadsPhotosUpright) {
  Frame f = image_read_rgb(media_clip("frame.png").string());
  EXPECT_EQ(pattern_index(f), 5);
  Frame rotated = image_read_rgb(media_clip("rotated90.mp4").string());  // first frame of a video
  EXPECT_EQ(rotated.width, k_clip_height);
}

}  // namespace
