#include "metrics/video_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace s3e {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

struct ClippedRect {
  int x0, y0, x1, y1;  // half-open
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

ClippedRect clip_rect(const int64_t rect[4], int width, int height) {
  const auto clamp = [](int64_t v, int hi) { return int(std::clamp<int64_t>(v, 0, hi)); };
  return {clamp(rect[0], width), clamp(rect[1], height), clamp(rect[0] + rect[2], width),
          clamp(rect[1] + rect[3], height)};
}

}  // namespace

double descriptor_similarity(const float* a, const float* b, int64_t dim, DescriptorSimilarity kind,
                             const std::vector<float>& mean) {
  const bool centred = kind == DescriptorSimilarity::cosine_centred;
  if (centred && int64_t(mean.size()) != dim) throw std::invalid_argument("descriptor_similarity: mean of wrong size");
  double dot = 0, na = 0, nb = 0;
  for (int64_t k = 0; k < dim; ++k) {
    const double x = double(a[k]) - (centred ? mean[size_t(k)] : 0.0);
    const double y = double(b[k]) - (centred ? mean[size_t(k)] : 0.0);
    dot += x * y, na += x * x, nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : k_nan;
}

TemporalIdentity temporal_identity(const PairSimilarity& similarity, const std::vector<int64_t>& frame_index,
                                   double min_similarity, int64_t tg_max_frames) {
  const int64_t n = int64_t(frame_index.size());
  TemporalIdentity t;
  t.tl_per_frame.assign(size_t(n), k_nan);
  double tl_sum = 0, tg_sum = 0;
  // Whether the pair counts, and its ratio S'/S.
  auto pair_ratio = [&](int64_t i, int64_t j, double& ratio) {
    const auto [s, e] = similarity(i, j);
    if (!std::isfinite(s) || !std::isfinite(e) || s < min_similarity) return false;
    ratio = e / s;
    return true;
  };
  for (int64_t i = 0; i + 1 < n; ++i) {
    if (frame_index[size_t(i + 1)] - frame_index[size_t(i)] != 1) continue;
    double r = 0;
    if (pair_ratio(i, i + 1, r)) {
      tl_sum += r, ++t.tl_pairs;
      t.tl_per_frame[size_t(i)] = r;
    } else {
      ++t.tl_excluded;
    }
  }
  std::vector<int64_t> frames;  // the frames TG-ID compares: all, or evenly spaced ones
  const int64_t m = std::min(n, std::max<int64_t>(2, tg_max_frames));
  for (int64_t k = 0; k < m; ++k) frames.push_back(m == n ? k : k * (n - 1) / (m - 1));
  for (size_t a = 0; a < frames.size(); ++a)
    for (size_t b = a + 1; b < frames.size(); ++b) {
      double r = 0;
      if (pair_ratio(frames[a], frames[b], r))
        tg_sum += r, ++t.tg_pairs;
      else
        ++t.tg_excluded;
    }
  t.tl_id = t.tl_pairs ? tl_sum / double(t.tl_pairs) : k_nan;
  t.tg_id = t.tg_pairs ? tg_sum / double(t.tg_pairs) : k_nan;
  return t;
}

double landmark_change_locality(const FaceLandmarks& source, const FaceLandmarks& edited,
                                const std::vector<bool>& in_target) {
  if (in_target.size() != source.size()) throw std::invalid_argument("landmark_change_locality: 68 flags expected");
  double inside = 0, total = 0;
  for (size_t i = 0; i < source.size(); ++i) {
    const double dx = edited[i].x - source[i].x, dy = edited[i].y - source[i].y, e = dx * dx + dy * dy;
    total += e;
    if (in_target[i]) inside += e;
  }
  return total > 0 ? inside / total : k_nan;
}

PixelChange pixel_change(const Frame& source, const Frame& edited, const int64_t rect[4],
                         const std::vector<uint8_t>& target, int noise_levels) {
  if (source.width != edited.width || source.height != edited.height)
    throw std::invalid_argument("pixel_change: frames of different sizes");
  if (target.size() != size_t(source.width) * size_t(source.height))
    throw std::invalid_argument("pixel_change: target mask is not the frame's size");
  const ClippedRect r = clip_rect(rect, source.width, source.height);
  PixelChange c;
  if (r.empty()) return c;
  for (int y = r.y0; y < r.y1; ++y)
    for (int x = r.x0; x < r.x1; ++x) {
      const uint8_t* a = source.pixel(x, y);
      const uint8_t* b = edited.pixel(x, y);
      const int d = std::max({std::abs(a[0] - b[0]), std::abs(a[1] - b[1]), std::abs(a[2] - b[2])}) - noise_levels;
      if (d <= 0) continue;
      c.total += d;
      if (target[size_t(y) * size_t(source.width) + size_t(x)]) c.in_target += d;
    }
  return c;
}

ResidualChange residual_change(const Frame& source_a, const Frame& edited_a, const Frame& source_b,
                               const Frame& edited_b, const int64_t rect[4]) {
  for (const Frame* f : {&edited_a, &source_b, &edited_b})
    if (f->width != source_a.width || f->height != source_a.height)
      throw std::invalid_argument("residual_change: frames of different sizes");
  const ClippedRect r = clip_rect(rect, source_a.width, source_a.height);
  ResidualChange c;
  if (r.empty()) return c;
  double flicker = 0, residual = 0;
  for (int y = r.y0; y < r.y1; ++y)
    for (int x = r.x0; x < r.x1; ++x) {
      const uint8_t *sa = source_a.pixel(x, y), *ea = edited_a.pixel(x, y);
      const uint8_t *sb = source_b.pixel(x, y), *eb = edited_b.pixel(x, y);
      for (int k = 0; k < 3; ++k) {
        const int rb = int(eb[k]) - int(sb[k]);
        flicker += std::abs(rb - (int(ea[k]) - int(sa[k])));
        residual += std::abs(rb);
      }
    }
  const double values = 3.0 * double(r.x1 - r.x0) * double(r.y1 - r.y0);
  c.flicker = flicker / values, c.residual = residual / values;
  return c;
}

double landmark_sequence_jitter(const std::vector<FaceLandmarks>& points, const std::vector<int64_t>& frame_index) {
  double sum = 0;
  int64_t triples = 0;
  for (size_t t = 1; t + 1 < points.size(); ++t) {
    if (frame_index[t] - frame_index[t - 1] != 1 || frame_index[t + 1] - frame_index[t] != 1) continue;
    double s = 0;
    for (size_t i = 0; i < points[t].size(); ++i) {
      const double mx = (points[t - 1][i].x + points[t + 1][i].x) / 2, my = (points[t - 1][i].y + points[t + 1][i].y) / 2;
      s += std::hypot(points[t][i].x - mx, points[t][i].y - my);
    }
    sum += s / double(points[t].size()), ++triples;
  }
  return triples ? sum / double(triples) : k_nan;
}

double mean_finite(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++n;
  return n ? sum / double(n) : k_nan;
}

}  // namespace s3e
