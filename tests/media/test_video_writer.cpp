// Writer and image tests: write-then-read round trips keep frame count, rate, timestamps and pixels; audio is
// copied or re-encoded to AAC with its duration; files appear only when complete; every codec (h264, h265, vp9,
// ffv1) writes byte-identical files for the same input, and ffv1 gives back exactly the RGB bytes written.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <random>

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

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The UsageError's message, or a note that none was thrown.
std::string usage_error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

// The pattern frame with noise over every byte, wrapping around (so 0 and 255 occur): content that no codec
// predicts, so a lossless path that altered any byte would show.
Frame noisy_frame(int width, int height, int index) {
  Frame f = pattern_frame(width, height, index);
  std::mt19937 rng(1000 + index);
  for (uint8_t& b : f.rgb) b = static_cast<uint8_t>(b + rng() % 96 - 48);
  return f;
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
  EXPECT_THROW(VideoWriter((dir / "preset.mp4").string(), bad_preset), UsageError);  // checked up front
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

TEST(Writer, Ffv1RoundTripIsBitExact) {
  TempDir dir("media_writer");
  for (auto [w, h] : {std::pair{64, 48}, std::pair{37, 23}}) {  // ffv1 keeps odd sizes whole
    SCOPED_TRACE(fmt::format("{}x{}", w, h));
    const fs::path out = dir / fmt::format("lossless_{}x{}.mkv", w, h);
    VideoWriterOptions options;
    options.codec = "ffv1";
    std::vector<Frame> written;
    {
      VideoWriter writer(out.string(), options);
      for (int i = 0; i < 4; ++i) {
        written.push_back(noisy_frame(w, h, i));
        writer.write(written.back());
      }
      writer.close();
    }
    VideoReader reader(out.string());
    EXPECT_EQ(reader.info().codec, "ffv1");
    ASSERT_EQ(reader.info().width, w);
    ASSERT_EQ(reader.info().height, h);
    Frame frame;
    size_t n = 0;
    for (; reader.next(frame); ++n) {
      ASSERT_LT(n, written.size()) << "more frames than written";
      EXPECT_NEAR(frame.pts, n / 25.0, 1e-3);
      const std::vector<uint8_t>& want = written[n].rgb;
      ASSERT_EQ(frame.rgb.size(), want.size());
      size_t differing = 0;
      for (size_t i = 0; i < want.size(); ++i) differing += frame.rgb[i] != want[i];
      EXPECT_EQ(differing, 0u) << "frame " << n << ": bytes differ from those written";
    }
    EXPECT_EQ(n, written.size());
  }
}

// For each codec and container: written twice, the files are byte-identical; read back, they hold every frame at its
// (variable) time, in the right order, close to what was written; x265 prints nothing.
TEST(Writer, EveryCodecIsDeterministicAndKeepsCountAndTimes) {
  struct Case {
    const char* codec;
    const char* file;
    const char* preset;
    const char* decoded_codec;
  };
  const Case cases[] = {{"h264", "h264.mp4", "fast", "h264"},   {"h264", "h264.mkv", "fast", "h264"},
                        {"h265", "h265.mp4", "fast", "hevc"},   {"h265", "h265.mkv", "fast", "hevc"},
                        {"vp9", "vp9.webm", "fast", "vp9"},     {"vp9", "vp9.mp4", "fast", "vp9"},
                        {"vp9", "vp9_rt.webm", "ultrafast", "vp9"}, {"ffv1", "ffv1.mkv", "fast", "ffv1"}};
  constexpr int frames = 8, width = 96, height = 64;
  auto frame_time = [](int n) { return 0.04 * n + 0.02 * (n % 2); };  // variable frame rate
  TempDir dir("media_writer");
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    VideoWriterOptions options;
    options.codec = c.codec;
    options.preset = c.preset;
    options.time_base_num = 1;
    options.time_base_den = 1000;
    testing::internal::CaptureStderr();
    for (const char* run : {"a", "b"}) {
      VideoWriter writer((dir / run / c.file).string(), options);
      for (int n = 0; n < frames; ++n) {
        Frame f = pattern_frame(width, height, n);
        f.pts = frame_time(n);
        writer.write(f);
      }
      writer.close();
    }
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "the encoder logged";
    const std::string a = file_bytes(dir / "a" / c.file), b = file_bytes(dir / "b" / c.file);
    EXPECT_GT(a.size(), 0u);
    EXPECT_TRUE(a == b) << "two writes of the same frames differ";
    VideoReader reader((dir / "a" / c.file).string());
    EXPECT_EQ(reader.info().codec, c.decoded_codec);
    ASSERT_EQ(reader.count_frames(), frames);
    Frame frame;
    int n = 0;
    for (; reader.next(frame); ++n) {
      EXPECT_NEAR(reader.frame_times()[n], frame_time(n), 1e-3) << n;
      EXPECT_NEAR(frame.pts, frame_time(n), 1e-3) << n;
      EXPECT_EQ(pattern_index(frame), n);
      EXPECT_LT(frame_mean_abs_diff(frame, pattern_frame(width, height, n)), 4.0) << n;
    }
    EXPECT_EQ(n, frames);
  }
  EXPECT_EQ(ffprobe_value(dir / "a" / "h265.mp4", "-select_streams v:0 -show_entries stream=codec_tag_string"),
            "hvc1");
}

TEST(Writer, NewCodecsCarryAudio) {
  TempDir dir("media_writer");
  const fs::path source = media_clip("aac.mp4");
  VideoWriterOptions options;
  options.codec = "h265";
  options.audio_source = source.string();
  {
    VideoWriter writer((dir / "with_audio.mp4").string(), options);
    for (int n = 0; n < 3; ++n) writer.write(pattern_frame(64, 48, n));
    writer.close();
  }
  EXPECT_EQ(ffprobe_value(dir / "with_audio.mp4", "-select_streams a:0 -show_entries stream=codec_name"), "aac");
  EXPECT_NEAR(audio_duration(dir / "with_audio.mp4"), audio_duration(source), 0.001);  // the whole stream, copied
  EXPECT_EQ(VideoReader((dir / "with_audio.mp4").string()).count_frames(), 3);
  // WebM holds no AAC, and the writer re-encodes to AAC only: refused with a way out, nothing left behind.
  options.codec = "vp9";
  std::string message = usage_error_text([&] {
    VideoWriter writer((dir / "with_audio.webm").string(), options);
    writer.write(pattern_frame(64, 48, 0));
  });
  EXPECT_NE(message.find("use .mkv or .mp4"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir / "with_audio.webm"));
}

TEST(Writer, CodecContainerCrfAndPresetAreCheckedUpFront) {
  TempDir dir("media_writer");
  auto open = [&](const std::string& name, const std::string& codec, int crf = 18, const std::string& preset = "fast") {
    return usage_error_text([&] {
      VideoWriterOptions options;
      options.codec = codec;
      options.crf = crf;
      options.preset = preset;
      VideoWriter((dir / name).string(), options);
    });
  };
  auto contains = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  std::string m = open("x.mp4", "av1");
  EXPECT_TRUE(contains(m, "x.mp4") && contains(m, "'av1'") && contains(m, "h264, h265, vp9, ffv1")) << m;
  m = open("x.webm", "h264");
  EXPECT_TRUE(contains(m, "x.webm") && contains(m, "h264") && contains(m, ".mp4, .mkv or .mov")) << m;
  m = open("x.mp4", "ffv1");
  EXPECT_TRUE(contains(m, "x.mp4") && contains(m, "ffv1") && contains(m, "use .mkv")) << m;
  m = open("x.mov", "vp9");
  EXPECT_TRUE(contains(m, "vp9") && contains(m, ".mp4, .mkv or .webm")) << m;
  m = open("x.avi", "h265");
  EXPECT_TRUE(contains(m, "no container for h265") && contains(m, ".mp4, .mkv or .mov")) << m;
  EXPECT_TRUE(contains(open("x.mp4", "h264", 52), "outside 0..51")) << open("x.mp4", "h264", 52);
  EXPECT_TRUE(contains(open("x.mkv", "h265", -1), "outside 0..51"));
  EXPECT_TRUE(contains(open("x.webm", "vp9", 64), "outside 0..63"));
  EXPECT_EQ(open("x.webm", "vp9", 63), "(no UsageError)");
  EXPECT_EQ(open("x.mkv", "ffv1", 99, "anything"), "(no UsageError)");  // lossless: crf and preset ignored
  m = open("x.webm", "vp9", 30, "warp-speed");
  EXPECT_TRUE(contains(m, "'warp-speed'") && contains(m, "ultrafast")) << m;
  EXPECT_TRUE(contains(open("x.mp4", "h265", 30, "Fast"), "preset"));
  EXPECT_EQ(other_files(dir.path(), ""), std::vector<std::string>{}) << "files left behind";
}

TEST(Writer, ContainerByNameForATemporaryFileName) {
  // The item ledger hands out names like ".clip.mkv.tmp.123": the container is then named in the options.
  TempDir dir("media_writer");
  const fs::path out = dir / ".clip.mkv.tmp.123";
  VideoWriterOptions options;
  options.codec = "ffv1";
  EXPECT_THROW(VideoWriter(out.string(), options), UsageError);  // no container in that name
  options.container = "mkv";
  {
    VideoWriter writer(out.string(), options);
    for (int i = 0; i < 3; ++i) writer.write(noisy_frame(32, 24, i));
    writer.close();
  }
  VideoReader reader(out.string());
  EXPECT_EQ(reader.info().codec, "ffv1");
  EXPECT_NE(reader.info().container.find("matroska"), std::string::npos);
  options.container = "webm";  // named containers are checked like extensions
  EXPECT_THROW(VideoWriter((dir / "x.tmp").string(), options), UsageError);
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
