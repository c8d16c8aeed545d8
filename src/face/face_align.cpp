#include "face/face_align.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "face/face_crops.h"

namespace s3e {
namespace {

FacePoint sub(FacePoint a, FacePoint b) { return {a.x - b.x, a.y - b.y}; }
FacePoint add(FacePoint a, FacePoint b) { return {a.x + b.x, a.y + b.y}; }
FacePoint mul(FacePoint a, double s) { return {a.x * s, a.y * s}; }
double norm(FacePoint a) { return std::hypot(a.x, a.y); }

// Bilinear sample of channel c at continuous pixel-index coordinates (x, y), edges repeated.
float sample(ImageView img, double x, double y, int c) {
  x = std::clamp(x, 0.0, double(img.width - 1));
  y = std::clamp(y, 0.0, double(img.height - 1));
  int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  int x1 = std::min(x0 + 1, img.width - 1), y1 = std::min(y0 + 1, img.height - 1);
  double fx = x - x0, fy = y - y0;
  auto at = [&](int xx, int yy) { return double(img.data[(size_t(yy) * img.width + xx) * 3 + c]); };
  double top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx, bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
  return static_cast<float>(top + (bottom - top) * fy);
}

// sample() of the three channels at once (the same arithmetic, the position worked out once).
void sample_rgb(ImageView img, double x, double y, float out[3]) {
  x = std::clamp(x, 0.0, double(img.width - 1));
  y = std::clamp(y, 0.0, double(img.height - 1));
  int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  int x1 = std::min(x0 + 1, img.width - 1), y1 = std::min(y0 + 1, img.height - 1);
  double fx = x - x0, fy = y - y0;
  const uint8_t* p00 = img.data + (size_t(y0) * img.width + x0) * 3;
  const uint8_t* p10 = img.data + (size_t(y0) * img.width + x1) * 3;
  const uint8_t* p01 = img.data + (size_t(y1) * img.width + x0) * 3;
  const uint8_t* p11 = img.data + (size_t(y1) * img.width + x1) * 3;
  for (int c = 0; c < 3; ++c) {
    double top = p00[c] + (double(p10[c]) - p00[c]) * fx, bottom = p01[c] + (double(p11[c]) - p01[c]) * fx;
    out[c] = static_cast<float>(top + (bottom - top) * fy);
  }
}

std::vector<FacePoint> convex_hull(std::vector<FacePoint> pts) {
  std::sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  auto cross = [](FacePoint o, FacePoint a, FacePoint b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); };
  std::vector<FacePoint> hull(2 * pts.size());
  size_t k = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
    hull[k++] = pts[i];
  }
  for (size_t i = pts.size() - 1, t = k + 1; i > 0; --i) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], pts[i - 1]) <= 0) --k;
    hull[k++] = pts[i - 1];
  }
  hull.resize(k > 1 ? k - 1 : k);
  return hull;  // counter-clockwise in a y-up frame
}

// Whether p lies inside (or on) a convex polygon (counter-clockwise in a y-up frame, as convex_hull returns it).
bool inside_hull(const std::vector<FacePoint>& hull, FacePoint p) {
  for (size_t i = 0; i < hull.size(); ++i) {
    FacePoint a = hull[i], b = hull[(i + 1) % hull.size()], ab = sub(b, a), ap = sub(p, a);
    if (ab.x * ap.y - ab.y * ap.x < 0) return false;
  }
  return true;
}

// Signed distance to a convex polygon: negative inside.
double signed_distance(const std::vector<FacePoint>& hull, FacePoint p) {
  double best2 = 1e300;  // squared: one square root per pixel, not one per edge (it was a fifth of edit's time)
  bool inside = true;
  for (size_t i = 0; i < hull.size(); ++i) {
    FacePoint a = hull[i], b = hull[(i + 1) % hull.size()], ab = sub(b, a), ap = sub(p, a);
    double len2 = ab.x * ab.x + ab.y * ab.y;
    double t = len2 > 0 ? std::clamp((ap.x * ab.x + ap.y * ab.y) / len2, 0.0, 1.0) : 0.0;
    FacePoint d = sub(ap, mul(ab, t));
    best2 = std::min(best2, d.x * d.x + d.y * d.y);
    if (ab.x * ap.y - ab.y * ap.x < 0) inside = false;
  }
  const double best = std::sqrt(best2);
  return inside ? -best : best;
}

}  // namespace

double FaceQuad::side() const { return norm(sub(corners[3], corners[0])); }

FaceQuad face_quad_ffhq(const FaceLandmarks& lm) {
  FacePoint eye_left = face_left_eye(lm), eye_right = face_right_eye(lm);
  FacePoint eye_avg = mul(add(eye_left, eye_right), 0.5), eye_to_eye = sub(eye_right, eye_left);
  FacePoint mouth_avg = mul(add(lm[48], lm[54]), 0.5), eye_to_mouth = sub(mouth_avg, eye_avg);
  // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]
  FacePoint x{eye_to_eye.x + eye_to_mouth.y, eye_to_eye.y - eye_to_mouth.x};
  double n = norm(x);
  if (!(n > 0)) throw std::invalid_argument("face_quad_ffhq: degenerate landmarks");
  x = mul(x, std::max(norm(eye_to_eye) * 2.0, norm(eye_to_mouth) * 1.8) / n);
  FacePoint y{-x.y, x.x};
  FacePoint c = add(eye_avg, mul(eye_to_mouth, 0.1));
  FaceQuad q;
  q.corners = {sub(sub(c, x), y), add(sub(c, x), y), add(add(c, x), y), sub(add(c, x), y)};
  return q;
}

FacePoint face_quad_to_frame(const FaceQuad& quad, int size, FacePoint p) {
  FacePoint ex = sub(quad.corners[3], quad.corners[0]), ey = sub(quad.corners[1], quad.corners[0]);
  return add(quad.corners[0], add(mul(ex, p.x / size), mul(ey, p.y / size)));
}

FacePoint face_quad_to_crop(const FaceQuad& quad, int size, FacePoint p) {
  FacePoint ex = sub(quad.corners[3], quad.corners[0]), ey = sub(quad.corners[1], quad.corners[0]);
  FacePoint d = sub(p, quad.corners[0]);
  double det = ex.x * ey.y - ex.y * ey.x;
  return {(d.x * ey.y - d.y * ey.x) / det * size, (ex.x * d.y - ex.y * d.x) / det * size};
}

Image face_crop_aligned(ImageView frame, const FaceQuad& quad, int size) {
  Image crop(size, size);
  for (int v = 0; v < size; ++v)
    for (int u = 0; u < size; ++u) {
      FacePoint p = face_quad_to_frame(quad, size, {u + 0.5, v + 0.5});
      uint8_t* dst = crop.pixel(u, v);
      for (int c = 0; c < 3; ++c)
        dst[c] = static_cast<uint8_t>(std::lround(std::clamp(sample(frame, p.x - 0.5, p.y - 0.5, c), 0.f, 255.f)));
    }
  return crop;
}

FaceBlendMask face_blend_mask(int width, int height, const std::vector<FacePoint>& points, const FaceQuad& quad,
                              const FacePasteOptions& options) {
  FaceBlendMask mask;
  if (points.empty()) return mask;
  auto hull = convex_hull(points);
  double side = quad.side(), dilation = options.dilation * side, feather = std::max(options.feather * side, 1e-6);
  double reach = dilation + feather;
  // Only pixels near the hull can be non-zero.
  double bx0 = points[0].x, by0 = points[0].y, bx1 = bx0, by1 = by0;
  for (auto& p : points) bx0 = std::min(bx0, p.x), by0 = std::min(by0, p.y), bx1 = std::max(bx1, p.x), by1 = std::max(by1, p.y);
  int x0 = std::max(0, static_cast<int>(std::floor(bx0 - reach))), y0 = std::max(0, static_cast<int>(std::floor(by0 - reach)));
  int x1 = std::min(width - 1, static_cast<int>(std::ceil(bx1 + reach)));
  int y1 = std::min(height - 1, static_cast<int>(std::ceil(by1 + reach)));
  if (x1 < x0 || y1 < y0) return mask;
  mask.x0 = x0, mask.y0 = y0, mask.width = x1 - x0 + 1, mask.height = y1 - y0 + 1;
  mask.alpha.assign(size_t(mask.width) * mask.height, 0.f);
  const int size = 1024;  // any size: only used to test coverage by the quad
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      FacePoint p{x + 0.5, y + 0.5};
      FacePoint c = face_quad_to_crop(quad, size, p);
      if (c.x < 0.5 || c.y < 0.5 || c.x > size - 0.5 || c.y > size - 0.5) continue;
      // Inside the hull the weight is 1 (reach - d >= feather): the distance is needed only outside it.
      double t = 1;
      if (!inside_hull(hull, p)) {
        const double d = signed_distance(hull, p);
        if (d >= reach) continue;
        t = std::clamp((reach - d) / feather, 0.0, 1.0);
      }
      mask.alpha[size_t(y - y0) * mask.width + (x - x0)] = static_cast<float>(t * t * (3 - 2 * t));  // smoothstep
    }
  return mask;
}

void face_paste_masked(Image& frame, ImageView crop, const FaceQuad& quad, const FaceBlendMask& mask) {
  if (crop.width != crop.height) throw std::invalid_argument("face_paste_masked: the aligned crop must be square");
  const int size = crop.width;
  for (int y = mask.y0; y < mask.y0 + mask.height; ++y)
    for (int x = mask.x0; x < mask.x0 + mask.width; ++x) {
      const float a = mask.alpha[size_t(y - mask.y0) * mask.width + (x - mask.x0)];
      if (a <= 0.f) continue;
      FacePoint c = face_quad_to_crop(quad, size, {x + 0.5, y + 0.5});
      float v[3];
      sample_rgb(crop, c.x - 0.5, c.y - 0.5, v);
      uint8_t* dst = frame.pixel(x, y);
      for (int ch = 0; ch < 3; ++ch)
        dst[ch] = static_cast<uint8_t>(std::lround(std::clamp(a * v[ch] + (1 - a) * dst[ch], 0.f, 255.f)));
    }
}

std::vector<float> face_paste_mask(int width, int height, const FaceLandmarks& landmarks, const FaceQuad& quad,
                                   const FacePasteOptions& options) {
  const FaceBlendMask m =
      face_blend_mask(width, height, std::vector<FacePoint>(landmarks.begin(), landmarks.end()), quad, options);
  std::vector<float> mask(size_t(width) * height, 0.f);
  for (int y = 0; y < m.height; ++y)
    std::copy(m.alpha.begin() + size_t(y) * m.width, m.alpha.begin() + size_t(y + 1) * m.width,
              mask.begin() + size_t(m.y0 + y) * width + m.x0);
  return mask;
}

void face_paste_back(Image& frame, const Image& crop, const FaceQuad& quad, const FaceLandmarks& landmarks,
                     const FacePasteOptions& options) {
  face_paste_masked(frame, crop.view(), quad,
                    face_blend_mask(frame.width, frame.height,
                                    std::vector<FacePoint>(landmarks.begin(), landmarks.end()), quad, options));
}

}  // namespace s3e
