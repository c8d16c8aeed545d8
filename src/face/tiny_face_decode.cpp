#include "face/tiny_face_decode.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "face/face_crops.h"

namespace s3e {
namespace {

constexpr double k_anchors[5][2] = {
    {1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061}, {4.266906, 5.178857}, {9.041765, 10.66308}};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

double js_round(double x) { return std::floor(x + 0.5); }

}  // namespace

void tiny_face_reshaped_size(int image_width, int image_height, int input_size, int* width, int* height) {
  double scale = double(input_size) / std::max(image_height, image_width);
  *width = static_cast<int>(js_round(image_width * scale));
  *height = static_cast<int>(js_round(image_height * scale));
}

std::vector<FaceDetection> tiny_face_decode(const float* output, int grid, int image_width, int image_height,
                                            const TinyFaceDecodeOptions& options) {
  int reshaped_w, reshaped_h;
  tiny_face_reshaped_size(image_width, image_height, options.input_size, &reshaped_w, &reshaped_h);
  double size = std::max(reshaped_w, reshaped_h);
  double cx = size / reshaped_w, cy = size / reshaped_h;
  auto at = [&](int anchor, int k, int row, int col) {
    return double(output[((size_t(anchor) * 5 + k) * grid + row) * grid + col]);
  };
  std::vector<FaceBox> boxes;  // relative to the image
  std::vector<double> scores;
  for (int row = 0; row < grid; ++row)
    for (int col = 0; col < grid; ++col)
      for (int a = 0; a < 5; ++a) {
        double score = sigmoid(at(a, 4, row, col));
        if (!(score > options.score_threshold)) continue;
        double ct_x = ((col + sigmoid(at(a, 0, row, col))) / grid) * cx;
        double ct_y = ((row + sigmoid(at(a, 1, row, col))) / grid) * cy;
        double w = ((std::exp(at(a, 2, row, col)) * k_anchors[a][0]) / grid) * cx;
        double h = ((std::exp(at(a, 3, row, col)) * k_anchors[a][1]) / grid) * cy;
        double x = ct_x - w / 2, y = ct_y - h / 2;
        // BoundingBox(x, y, x + w, y + h): width is recomputed as right - left.
        boxes.push_back({x, y, (x + w) - x, (y + h) - y});
        scores.push_back(score);
      }

  // Greedy NMS on boxes scaled by S; face-api sorts ascending and pops, so ties go to the later index.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  auto scaled = [&](size_t i) {
    const FaceBox& b = boxes[i];
    double s = options.input_size;
    return FaceBox{b.x * s, b.y * s, b.width * s, b.height * s};
  };
  std::vector<size_t> picks;
  while (!order.empty()) {
    size_t current = order.back();
    order.pop_back();
    picks.push_back(current);
    FaceBox cb = scaled(current);
    std::vector<size_t> kept;
    for (size_t idx : order)
      if (face_box_iou(cb, scaled(idx)) <= options.iou_threshold) kept.push_back(idx);
    order.swap(kept);
  }

  // ObjectDetection (rel * dims) -> FaceDetection(relativeBox, dims): two relative/absolute conversions.
  std::vector<FaceDetection> out;
  for (size_t i : picks) {
    const FaceBox& r = boxes[i];
    FaceBox abs{r.x * image_width, r.y * image_height, r.width * image_width, r.height * image_height};
    out.push_back({face_box_round_trip(abs, image_width, image_height), scores[i]});
  }
  return out;
}

}  // namespace s3e
