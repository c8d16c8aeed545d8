// face_types.h — the plain data of the face stack (images are core/image.h's): boxes, integer crops, the 68
// landmarks, 128-D descriptors, attributes, and one analysed face. No torch here: every stage can include it.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace s3e {

// A box in image pixels (double, as face-api's JS numbers).
struct FaceBox {
  double x = 0, y = 0, width = 0, height = 0;
  double right() const { return x + width; }
  double bottom() const { return y + height; }
};

// An integer crop of the image (what a net is fed).
struct FaceRect {
  int x = 0, y = 0, width = 0, height = 0;
  bool operator==(const FaceRect& o) const { return x == o.x && y == o.y && width == o.width && height == o.height; }
  bool empty() const { return width <= 0 || height <= 0; }
};

struct FacePoint {
  double x = 0, y = 0;
};

// iBUG 68-point scheme: jaw 0-16, brows 17-26, nose 27-35, left eye 36-41, right eye 42-47, mouth 48-67.
using FaceLandmarks = std::array<FacePoint, 68>;
// FaceRecognitionNet output (not L2-normalised; compare with face_identity.h).
using FaceDescriptor = std::array<float, 128>;

constexpr int k_face_expression_count = 7;
// FaceExpressionNet class order.
extern const std::array<const char*, k_face_expression_count> k_face_expression_names;

struct FaceDetection {
  FaceBox box;
  double score = 0;
};

struct FaceAttributes {
  float age = 0;                                        // years (AgeGenderNet regression)
  float male_probability = 0;                           // softmax index 0
  std::array<float, k_face_expression_count> expressions{};  // softmax, k_face_expression_names order
};

// One face through the whole face-api cascade, with the crop each net saw.
struct FaceRecord {
  FaceDetection detection;
  FaceRect landmark_crop;
  FaceLandmarks landmarks{};  // image pixels
  FaceRect attribute_crop;
  FaceRect descriptor_crop;
  FaceDescriptor descriptor{};
  FaceAttributes attributes;
};

}  // namespace s3e
