#include "face/face_smooth.h"

#include <cmath>

namespace s3e {

void smooth_gaussian(std::vector<std::vector<double>>& series, double sigma) {
  if (sigma <= 0 || series.size() < 2) return;
  int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> kernel(size_t(2 * radius + 1));
  for (int k = -radius; k <= radius; ++k) kernel[size_t(k + radius)] = std::exp(-0.5 * (k * k) / (sigma * sigma));
  const int n = static_cast<int>(series.size());
  const size_t columns = series[0].size();
  std::vector<std::vector<double>> out(series.size(), std::vector<double>(columns, 0.0));
  for (int t = 0; t < n; ++t) {
    double weight = 0;
    for (int k = -radius; k <= radius; ++k) {
      int s = t + k;
      if (s < 0 || s >= n) continue;
      double w = kernel[size_t(k + radius)];
      weight += w;
      for (size_t c = 0; c < columns; ++c) out[t][c] += w * series[s][c];
    }
    for (size_t c = 0; c < columns; ++c) out[t][c] /= weight;
  }
  series.swap(out);
}

std::vector<FaceLandmarks> smooth_landmarks(const std::vector<FaceLandmarks>& frames, double sigma) {
  std::vector<std::vector<double>> series;
  for (auto& l : frames) {
    std::vector<double> row;
    for (auto& p : l) row.push_back(p.x), row.push_back(p.y);
    series.push_back(std::move(row));
  }
  smooth_gaussian(series, sigma);
  std::vector<FaceLandmarks> out(frames.size());
  for (size_t t = 0; t < frames.size(); ++t)
    for (size_t i = 0; i < 68; ++i) out[t][i] = {series[t][2 * i], series[t][2 * i + 1]};
  return out;
}

std::vector<FaceQuad> smooth_quads(const std::vector<FaceQuad>& frames, double sigma) {
  std::vector<std::vector<double>> series;
  for (auto& q : frames) {
    std::vector<double> row;
    for (auto& p : q.corners) row.push_back(p.x), row.push_back(p.y);
    series.push_back(std::move(row));
  }
  smooth_gaussian(series, sigma);
  std::vector<FaceQuad> out(frames.size());
  for (size_t t = 0; t < frames.size(); ++t)
    for (size_t i = 0; i < 4; ++i) out[t].corners[i] = {series[t][2 * i], series[t][2 * i + 1]};
  return out;
}

double landmark_jitter(const std::vector<FaceLandmarks>& frames) {
  if (frames.size() < 3) return 0;
  double sum = 0;
  for (size_t t = 1; t + 1 < frames.size(); ++t)
    for (size_t i = 0; i < 68; ++i) {
      double mx = (frames[t - 1][i].x + frames[t + 1][i].x) / 2, my = (frames[t - 1][i].y + frames[t + 1][i].y) / 2;
      sum += std::hypot(frames[t][i].x - mx, frames[t][i].y - my);
    }
  return sum / (double(frames.size() - 2) * 68);
}

}  // namespace s3e
