#include "face/face_detector_size.h"

#include <algorithm>
#include <cmath>

namespace s3e {

int face_detector_input_size_auto(int width, int height, double min_face_height) {
  double side = std::max(1, std::max(width, height));
  double need = side * k_face_detector_min_face_at_input / std::max(1.0, min_face_height);
  int size = static_cast<int>(std::ceil(need / 32.0 - 1e-9)) * 32;
  return std::clamp(size, k_face_detector_auto_min, k_face_detector_auto_max);
}

std::vector<int> face_detector_auto_passes(int width, int height, double min_face_height) {
  if (face_detector_min_face_height(width, height, k_face_detector_auto_min) <= 1.25 * min_face_height)
    return {k_face_detector_auto_min};
  return {k_face_detector_auto_min, face_detector_input_size_auto(width, height, min_face_height)};
}

double face_detector_min_face_height(int width, int height, int input_size) {
  return std::max(width, height) * k_face_detector_min_face_at_input / std::max(1, input_size);
}

}  // namespace s3e
