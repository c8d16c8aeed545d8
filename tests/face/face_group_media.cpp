#include "face_group_media.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "common/test_util.h"
#include "face/face_models.h"
#include "face_test_util.h"

namespace fs = std::filesystem;

namespace s3e::test {

const std::vector<std::vector<FaceDetection>>& group_photo_faces() {
  static const std::vector<std::vector<FaceDetection>> faces = [] {
    FaceModelsOptions mo;
    mo.load_descriptor = mo.load_attributes = false;
    mo.detector_score = 0.3;
    FaceModels models(mo);
    std::vector<std::vector<FaceDetection>> out;
    for (auto& p : face_sample_photos()) out.push_back(models.detect(image_decode(p).view()));
    return out;
  }();
  return faces;
}

std::vector<std::pair<int, int>> group_photo_sizes() {
  static const std::vector<std::pair<int, int>> sizes = [] {
    std::vector<std::pair<int, int>> out;
    for (auto& p : face_sample_photos()) {
      Image im = image_decode(p);
      out.emplace_back(im.width, im.height);
    }
    return out;
  }();
  return sizes;
}

std::vector<GroupFace> GroupClip::faces_at(int frame) const {
  std::vector<GroupFace> out;
  for (auto& p : placements) {
    if (frame < p.from || frame >= p.to) continue;
    double sx = double(p.width) / photo_sizes[size_t(p.photo)].first;
    double sy = double(p.height) / photo_sizes[size_t(p.photo)].second;
    double ox = p.x + p.vx * (frame - p.from), oy = p.y + p.vy * (frame - p.from);
    const auto& faces = photo_faces[size_t(p.photo)];
    for (size_t k = 0; k < faces.size(); ++k) {
      const FaceBox& f = faces[k].box;
      FaceBox b{ox + f.x * sx, oy + f.y * sy, f.width * sx, f.height * sy};
      double cx = b.x + b.width / 2, cy = b.y + b.height / 2;
      if (cx < 0 || cy < 0 || cx >= width || cy >= height) continue;
      out.push_back({p.photo * 100 + static_cast<int>(k), b, faces[k].score > 0.5});
    }
  }
  return out;
}

GroupClip group_clip_make(const fs::path& path, int width, int height, int frames,
                          const std::vector<GroupPlacement>& placements) {
  GroupClip clip;
  clip.path = path;
  clip.width = width, clip.height = height, clip.frames = frames;
  clip.placements = placements;
  clip.photo_faces = group_photo_faces();
  clip.photo_sizes = group_photo_sizes();
  auto photos = face_sample_photos();
  std::string cmd = fmt::format("ffmpeg -v error -y -f lavfi -i color=c=0x4a6a88:s={}x{}:r=25", width, height);
  for (auto& p : placements) cmd += " -loop 1 -framerate 25 -i " + shell_quote(photos[size_t(p.photo)].string());
  std::string graph, last = "0:v";
  for (size_t k = 0; k < placements.size(); ++k) {
    const GroupPlacement& p = placements[k];
    // overlay's `n` counts output frames; whole-pixel steps keep the ground truth exact.
    graph += fmt::format("[{}:v]scale={}:{}:flags=bicubic,setsar=1[p{}];", k + 1, p.width, p.height, k);
    graph += fmt::format("[{}][p{}]overlay=x='{}+{}*(n-{})':y='{}+{}*(n-{})':enable='between(n,{},{})'[v{}];", last, k,
                         p.x, p.vx, p.from, p.y, p.vy, p.from, p.from, std::min(p.to, frames) - 1, k);
    last = fmt::format("v{}", k);
  }
  graph.pop_back();
  cmd += " -filter_complex " + shell_quote(graph) + " -map '[" + last + "]' -frames:v " + std::to_string(frames) +
         " -c:v libx264 -crf 12 -pix_fmt yuv420p " + shell_quote(path.string()) + " 2>&1";
  auto r = run_command(cmd);
  if (r.exit_code != 0 || !fs::exists(path)) throw std::runtime_error("ffmpeg failed: " + cmd + "\n" + r.output);
  return clip;
}

std::vector<GroupPlacement> group_grid(int width, int height, double scale) {
  auto sizes = group_photo_sizes();
  std::vector<GroupPlacement> out;
  const int vx[6] = {3, -2, 2, -3, 2, -2}, vy[6] = {2, 2, -1, -2, 1, -2};
  for (int i = 0; i < 6; ++i) {
    GroupPlacement p;
    p.photo = i;
    p.width = 2 * static_cast<int>(std::lround(sizes[size_t(i)].first * scale / 2));
    p.height = 2 * static_cast<int>(std::lround(sizes[size_t(i)].second * scale / 2));
    int cw = width / 3, ch = height / 2;
    p.x = (i % 3) * cw + (cw - p.width) / 2;
    p.y = (i / 3) * ch + (ch - p.height) / 2;
    p.vx = vx[i], p.vy = vy[i];
    out.push_back(p);
  }
  return out;
}

int group_face_of(const std::vector<GroupFace>& truth, const FaceBox& box) {
  double cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  int best = -1;
  double best_d = 1e18;
  for (auto& f : truth) {
    if (cx < f.box.x || cy < f.box.y || cx > f.box.x + f.box.width || cy > f.box.y + f.box.height) continue;
    double d = std::hypot(cx - (f.box.x + f.box.width / 2), cy - (f.box.y + f.box.height / 2));
    if (d < best_d) best_d = d, best = f.id;
  }
  return best;
}

}  // namespace s3e::test
