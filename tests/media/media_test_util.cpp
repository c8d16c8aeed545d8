#include "media/media_test_util.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "common/test_util.h"

namespace fs = std::filesystem;

namespace s3e::test {

namespace {
constexpr int k_bits = 8;
int block_height(int height) { return height / 4; }
}  // namespace

Frame pattern_frame(int width, int height, int index) {
  Frame f;
  f.width = width;
  f.height = height;
  f.rgb.resize(static_cast<size_t>(width) * height * 3);
  f.index = index;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = f.pixel(x, y);
      if (y < block_height(height)) {
        int bit = (index >> (x * k_bits / width)) & 1;
        p[0] = p[1] = p[2] = bit ? 235 : 20;
      } else {
        p[0] = static_cast<uint8_t>(30 + 190 * x / (width - 1));
        p[1] = static_cast<uint8_t>(30 + 190 * y / (height - 1));
        p[2] = static_cast<uint8_t>(200 - 150 * (x + y) / (width + height - 2));
      }
    }
  return f;
}

int pattern_index(const Frame& f) {
  int index = 0;
  const int bh = block_height(f.height);
  for (int k = 0; k < k_bits; ++k) {
    const int x0 = k * f.width / k_bits, x1 = (k + 1) * f.width / k_bits;
    double sum = 0;
    int n = 0;
    for (int y = bh / 4; y < bh * 3 / 4; ++y)
      for (int x = x0 + (x1 - x0) / 4; x < x1 - (x1 - x0) / 4; ++x, ++n) sum += f.pixel(x, y)[1];
    double mean = sum / n;
    if (mean > 180) index |= 1 << k;
    else if (mean > 75) return -1;
  }
  return index;
}

double frame_mean_abs_diff(const Frame& a, const Frame& b) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size()) return 1e9;
  double sum = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
  return sum / a.rgb.size();
}

Frame frame_rotated(const Frame& f, int degrees) {
  Frame out = f;
  if (degrees % 180) std::swap(out.width, out.height);
  for (int y = 0; y < f.height; ++y)
    for (int x = 0; x < f.width; ++x) {
      int ox = x, oy = y;
      if (degrees == 90) { ox = f.height - 1 - y; oy = x; }
      if (degrees == 180) { ox = f.width - 1 - x; oy = f.height - 1 - y; }
      if (degrees == 270) { ox = y; oy = f.width - 1 - x; }
      const uint8_t* s = f.pixel(x, y);
      uint8_t* d = out.pixel(ox, oy);
      d[0] = s[0]; d[1] = s[1]; d[2] = s[2];
    }
  return out;
}

void ffmpeg_run(const std::string& args) {
  CommandResult r = run_command("ffmpeg -nostdin -hide_banner -v error -y " + args);
  if (r.exit_code != 0) throw std::runtime_error("ffmpeg " + args + " failed: " + r.output);
}

fs::path pattern_video(const fs::path& dir, const std::string& name, int width, int height, int count,
                       const std::string& rate, const std::string& output_args) {
  fs::path raw = dir / (name + ".rgb");
  {
    std::ofstream out(raw, std::ios::binary);
    for (int i = 0; i < count; ++i) {
      Frame f = pattern_frame(width, height, i);
      out.write(reinterpret_cast<const char*>(f.rgb.data()), f.rgb.size());
    }
  }
  fs::path video = dir / name;
  ffmpeg_run("-f rawvideo -pix_fmt rgb24 -s " + std::to_string(width) + "x" + std::to_string(height) + " -r " + rate +
             " -i " + shell_quote(raw.string()) + " " + output_args + " " + shell_quote(video.string()));
  fs::remove(raw);
  return video;
}

std::vector<Frame> ffmpeg_decode_rgb(const fs::path& video, int width, int height) {
  fs::path raw = video.string() + ".decoded.rgb";
  ffmpeg_run("-i " + shell_quote(video.string()) + " -f rawvideo -pix_fmt rgb24 " + shell_quote(raw.string()));
  std::string bytes = read_file(raw);
  fs::remove(raw);
  const size_t frame_bytes = static_cast<size_t>(width) * height * 3;
  std::vector<Frame> frames;
  for (size_t off = 0; off + frame_bytes <= bytes.size(); off += frame_bytes) {
    Frame f;
    f.width = width;
    f.height = height;
    f.rgb.assign(bytes.begin() + off, bytes.begin() + off + frame_bytes);
    f.index = static_cast<int64_t>(frames.size());
    frames.push_back(std::move(f));
  }
  return frames;
}

std::string ffprobe_value(const fs::path& file, const std::string& args) {
  CommandResult r = run_command("ffprobe -v error " + args + " -of default=nw=1:nk=1 " + shell_quote(file.string()));
  if (r.exit_code != 0) throw std::runtime_error("ffprobe " + args + " failed: " + r.output);
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == '\r')) r.output.pop_back();
  return r.output;
}

const fs::path& media_clip_dir() {
  static TempDir dir("media_clips");
  return dir.path();
}

fs::path media_clip(const std::string& name) {
  const fs::path& dir = media_clip_dir();
  fs::path path = dir / name;
  if (name == "seq/frame_%05d.png") {
    if (!fs::exists(dir / "seq" / "frame_00001.png")) {
      fs::create_directories(dir / "seq");
      pattern_video(dir, name, k_clip_width, k_clip_height, k_clip_frames, "25", "-c:v png");
    }
    return path;
  }
  if (fs::exists(path)) return path;
  const std::string rate = std::to_string(k_clip_fps);
  const std::string sine = "-f lavfi -i sine=frequency=440:duration=1.6:sample_rate=48000 ";
  auto make = [&](const std::string& args) {
    return pattern_video(dir, name, k_clip_width, k_clip_height, k_clip_frames, rate, args);
  };
  if (name == "h264.mp4") return make("-c:v libx264 -crf 16 -g 12 -bf 2 -pix_fmt yuv420p");
  if (name == "h264_faststart.mp4") return make("-c:v libx264 -crf 16 -g 12 -pix_fmt yuv420p -movflags +faststart");
  if (name == "hevc.mkv") return make("-c:v libx265 -crf 18 -g 12 -pix_fmt yuv420p -x265-params log-level=error");
  if (name == "vp9.webm")
    return make("-c:v libvpx-vp9 -crf 15 -b:v 0 -g 12 -deadline realtime -cpu-used 8 -pix_fmt yuv420p");
  if (name == "mpeg4.avi") return make("-c:v mpeg4 -q:v 2 -g 12");
  if (name == "mjpeg.avi") return make("-c:v mjpeg -q:v 2");
  if (name == "mpeg1.mpg") return make("-c:v mpeg1video -q:v 2 -g 12");
  if (name == "sar.mp4") return make("-vf setsar=2/1 -c:v libx264 -crf 16 -pix_fmt yuv420p");
  if (name == "vfr.mp4")
    return make("-vf settb=1/1000,setpts='(N*0.04+0.02*mod(N\\,2))/TB' -fps_mode passthrough -enc_time_base:v 1/1000 "
                "-c:v libx264 -crf 16 "
                "-pix_fmt yuv420p -video_track_timescale 1000");
  if (name == "aac.mp4") return make(sine + "-c:v libx264 -crf 16 -pix_fmt yuv420p -c:a aac -b:a 96k");
  if (name == "pcm.avi") return make(sine + "-c:v mpeg4 -q:v 2 -c:a pcm_s16le");
  if (name == "frame.png") {
    ffmpeg_run("-i " + shell_quote(media_clip("seq/frame_%05d.png").string()) + " -vf 'select=eq(n\\,5)' -frames:v 1 " +
               shell_quote(path.string()));
    return path;
  }
  if (name == "rotated90.mp4" || name == "rotated270.mp4") {
    // FFmpeg 5.1's muxer turns the tag "rotate=R" into a display matrix that shows the picture turned R degrees
    // counterclockwise; rotate=270 is what phones write for portrait clips (ffprobe: rotation=-90).
    ffmpeg_run("-i " + shell_quote(media_clip("h264.mp4").string()) + " -c copy -metadata:s:v:0 rotate=" +
               (name == "rotated90.mp4" ? "270 " : "90 ") + shell_quote(path.string()));
    return path;
  }
  throw std::runtime_error("media_clip: no recipe for " + name);
}

double process_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      in >> kib;
      return kib / 1024.0;
    }
    std::getline(in, key);
  }
  return 0;
}

}  // namespace s3e::test
