#include "face/face_crops.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace s3e {

const std::array<const char*, k_face_expression_count> k_face_expression_names = {
    "neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"};

FaceRect face_rect_clip(const FaceBox& box, int image_width, int image_height) {
  double x = std::max(box.x, 0.0), y = std::max(box.y, 0.0);
  double w = std::min(box.right() - x, image_width - x), h = std::min(box.bottom() - y, image_height - y);
  return {static_cast<int>(std::floor(x)), static_cast<int>(std::floor(y)), static_cast<int>(std::floor(w)),
          static_cast<int>(std::floor(h))};
}

FaceBox face_box_round_trip(const FaceBox& box, int image_width, int image_height, int times) {
  FaceBox b = box;
  double rx = 1.0 / image_width, ry = 1.0 / image_height;
  for (int i = 0; i < times; ++i) {
    b = {b.x * rx, b.y * ry, b.width * rx, b.height * ry};
    b = {b.x * image_width, b.y * image_height, b.width * image_width, b.height * image_height};
  }
  return b;
}

FaceLandmarks face_landmarks_to_image(const FaceLandmarks& relative, const FaceRect& crop, FacePoint shift) {
  // FaceLandmarks keeps absolute positions rel*dims; shiftBy() goes back to relative and forward again.
  FaceLandmarks out;
  double w = crop.width, h = crop.height;
  for (size_t i = 0; i < out.size(); ++i) {
    double px = relative[i].x * w, py = relative[i].y * h;
    out[i] = {(px / w) * w + shift.x, (py / h) * h + shift.y};
  }
  return out;
}

FaceBox face_landmarks_bbox(const FaceLandmarks& landmarks) {
  double min_x = std::numeric_limits<double>::infinity(), min_y = min_x, max_x = -min_x, max_y = -min_x;
  for (auto& p : landmarks) {
    min_x = std::min(min_x, p.x), min_y = std::min(min_y, p.y);
    max_x = std::max(max_x, p.x), max_y = std::max(max_y, p.y);
  }
  return {min_x, min_y, max_x - min_x, max_y - min_y};
}

FaceBox face_aligned_rect(const FaceLandmarks& landmarks) {
  // minBbox starts max at 0 (not -inf): reproduce it.
  FaceBox b = face_landmarks_bbox(landmarks);
  double max_x = std::max(0.0, b.right()), max_y = std::max(0.0, b.bottom());
  double w = max_x - b.x, h = max_y - b.y;
  double pad_x = w * 0.2, pad_y = h * 0.2;
  return {b.x - pad_x / 2, b.y - pad_y / 2, w + pad_x, h + pad_y};
}

namespace {
FacePoint mean_of(const FaceLandmarks& l, int begin, int end) {
  // getCenterPoint: sum in order, then divide.
  double x = 0, y = 0;
  for (int i = begin; i < end; ++i) x += l[i].x, y += l[i].y;
  return {x / (end - begin), y / (end - begin)};
}
}  // namespace

FacePoint face_left_eye(const FaceLandmarks& l) { return mean_of(l, 36, 42); }
FacePoint face_right_eye(const FaceLandmarks& l) { return mean_of(l, 42, 48); }
FacePoint face_mouth(const FaceLandmarks& l) { return mean_of(l, 48, 68); }

FaceRect face_descriptor_rect(const FaceLandmarks& landmarks, const FaceRect& landmark_crop, int image_width,
                              int image_height) {
  FacePoint le = face_left_eye(landmarks), re = face_right_eye(landmarks), m = face_mouth(landmarks);
  auto dist = [&](FacePoint p) { return std::sqrt((m.x - p.x) * (m.x - p.x) + (m.y - p.y) * (m.y - p.y)); };
  double eye_to_mouth = (dist(le) + dist(re)) / 2;
  double size = std::floor(eye_to_mouth / 0.45);
  double cx = (le.x + re.x + m.x) / 3, cy = (le.y + re.y + m.y) / 3;
  double x = std::floor(std::max(0.0, cx - 0.5 * size)), y = std::floor(std::max(0.0, cy - 0.43 * size));
  FaceBox rect{x, y, std::min(size, landmark_crop.width + x), std::min(size, landmark_crop.height + y)};
  return face_rect_clip(rect, image_width, image_height);
}

double face_box_iou(const FaceBox& a, const FaceBox& b) {
  double w = std::max(0.0, std::min(a.right(), b.right()) - std::max(a.x, b.x));
  double h = std::max(0.0, std::min(a.bottom(), b.bottom()) - std::max(a.y, b.y));
  double inter = w * h, uni = a.width * a.height + b.width * b.height - inter;
  return uni > 0 ? inter / uni : 0.0;
}

FaceNetCrops face_net_crops(const FaceLandmarks& landmarks, const FaceRect& landmark_crop, int image_width,
                            int image_height) {
  auto non_empty = [](FaceRect r) { return r.empty() ? FaceRect{0, 0, 1, 1} : r; };
  return {non_empty(face_descriptor_rect(landmarks, landmark_crop, image_width, image_height)),
          non_empty(face_rect_clip(face_aligned_rect(landmarks), image_width, image_height))};
}

}  // namespace s3e
