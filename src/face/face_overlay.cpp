#include "face/face_overlay.h"

#include <algorithm>
#include <cmath>

namespace s3e {
namespace {

void dot(RgbImage& img, int cx, int cy, int radius, OverlayColor c) {
  for (int y = cy - radius; y <= cy + radius; ++y)
    for (int x = cx - radius; x <= cx + radius; ++x)
      if (x >= 0 && y >= 0 && x < img.width && y < img.height &&
          (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius)
        std::copy(c.begin(), c.end(), img.pixel(x, y));
}

}  // namespace

OverlayColor overlay_track_color(int track_id) {
  static const OverlayColor palette[] = {{0, 230, 64},  {255, 170, 0}, {0, 160, 255}, {255, 60, 200},
                                         {200, 255, 0}, {0, 255, 230}, {255, 80, 60}, {160, 100, 255}};
  return palette[(track_id < 0 ? 0 : track_id) % 8];
}

void overlay_line(RgbImage& image, FacePoint a, FacePoint b, OverlayColor color, int thickness) {
  double len = std::hypot(b.x - a.x, b.y - a.y);
  int steps = std::max(1, static_cast<int>(std::ceil(len)));
  for (int i = 0; i <= steps; ++i) {
    double t = double(i) / steps;
    dot(image, static_cast<int>(std::lround(a.x + (b.x - a.x) * t)), static_cast<int>(std::lround(a.y + (b.y - a.y) * t)),
        std::max(0, thickness / 2), color);
  }
}

void overlay_box(RgbImage& image, const FaceBox& b, OverlayColor color, int thickness) {
  FacePoint tl{b.x, b.y}, tr{b.right(), b.y}, br{b.right(), b.bottom()}, bl{b.x, b.bottom()};
  overlay_line(image, tl, tr, color, thickness);
  overlay_line(image, tr, br, color, thickness);
  overlay_line(image, br, bl, color, thickness);
  overlay_line(image, bl, tl, color, thickness);
}

void overlay_quad(RgbImage& image, const FaceQuad& q, OverlayColor color, int thickness) {
  for (int i = 0; i < 4; ++i) overlay_line(image, q.corners[i], q.corners[(i + 1) % 4], color, thickness);
}

void overlay_landmarks(RgbImage& image, const FaceLandmarks& l, OverlayColor color, int radius) {
  // Contours of the iBUG scheme: [begin, end) and whether it closes.
  const struct { int begin, end; bool closed; } parts[] = {{0, 17, false},  {17, 22, false}, {22, 27, false},
                                                           {27, 31, false}, {31, 36, false}, {36, 42, true},
                                                           {42, 48, true},  {48, 60, true},  {60, 68, true}};
  for (auto& p : parts) {
    for (int i = p.begin; i + 1 < p.end; ++i) overlay_line(image, l[i], l[i + 1], color, 1);
    if (p.closed) overlay_line(image, l[p.end - 1], l[p.begin], color, 1);
  }
  for (auto& pt : l) dot(image, static_cast<int>(std::lround(pt.x)), static_cast<int>(std::lround(pt.y)), radius, {255, 40, 40});
}

void overlay_bar(RgbImage& image, int x, int y, int width, double value, OverlayColor color) {
  int filled = static_cast<int>(std::lround(std::clamp(value, 0.0, 1.0) * width));
  for (int yy = y; yy < y + 6; ++yy)
    for (int xx = x; xx < x + width; ++xx)
      if (xx >= 0 && yy >= 0 && xx < image.width && yy < image.height) {
        OverlayColor c = xx < x + filled ? color : OverlayColor{40, 40, 40};
        std::copy(c.begin(), c.end(), image.pixel(xx, yy));
      }
}

}  // namespace s3e
