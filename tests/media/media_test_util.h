// media_test_util.h — inputs for the media tests, made at test time with the ffmpeg CLI from a pattern that the
// tests can recompute: smooth colour gradients plus 8 black/white blocks along the top that spell the frame
// index in binary, so every decoded frame can be checked for both its pixels and its position.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "media/frame.h"

namespace s3e::test {

// The pattern frame `index` (0..255) at w x h.
Frame pattern_frame(int width, int height, int index);
// The index spelled by the blocks of a decoded pattern frame (-1 if a block is neither clearly black nor white).
int pattern_index(const Frame& frame);
// Mean absolute difference over all channels (frames must have the same size).
double frame_mean_abs_diff(const Frame& a, const Frame& b);
// `frame` rotated clockwise by 90, 180 or 270 degrees.
Frame frame_rotated(const Frame& frame, int degrees);

// Runs `ffmpeg -hide_banner -v error -y <args>`; throws std::runtime_error with its output on failure.
void ffmpeg_run(const std::string& args);
// Writes `count` pattern frames as raw RGB24 and encodes them: ffmpeg -f rawvideo ... -i raw <output_args> <out>.
std::filesystem::path pattern_video(const std::filesystem::path& dir, const std::string& name, int width, int height,
                                    int count, const std::string& rate, const std::string& output_args);
// Every frame as the ffmpeg CLI decodes it to RGB24 (with its default autorotation).
std::vector<Frame> ffmpeg_decode_rgb(const std::filesystem::path& video, int width, int height);
// A value from ffprobe: ffprobe -v error <args> -of default=nw=1:nk=1 <file>.
std::string ffprobe_value(const std::filesystem::path& file, const std::string& args);

// Frames, size and rate of the clips media_clip() makes.
constexpr int k_clip_frames = 40, k_clip_width = 320, k_clip_height = 240, k_clip_fps = 25;
// A test clip made on first use in a folder shared by the test binary, by name: h264.mp4, h264_faststart.mp4,
// hevc.mkv, vp9.webm, mpeg4.avi, mjpeg.avi, mpeg1.mpg, rotated90.mp4 / rotated270.mp4 (display matrix turning
// the picture 90/270 degrees clockwise; the first is a phone's portrait clip), sar.mp4 (2:1 pixels),
// vfr.mp4 (frame n at 0.04n + 0.02 (n mod 2) s), aac.mp4 (H.264 + 1.6 s AAC), pcm.avi (MPEG-4 + PCM),
// seq/frame_%05d.png (PNG sequence), frame.png (pattern frame 5).
std::filesystem::path media_clip(const std::string& name);
// The folder media_clip() writes to (for extra files of a test).
const std::filesystem::path& media_clip_dir();

// Resident memory of this process in MiB (from /proc/self/status).
double process_rss_mib();

}  // namespace s3e::test
