// landmark_attributes.h — the landmark backbone's geometric attributes (docs/backbones.md has every formula):
// differentiable functions of the 68 landmarks, measured in a face frame (origin between the eye centres, x along
// the eye line, y perpendicular and pointing down) in fractions of the inter-ocular distance (IOD, the distance
// between the eye centres), so a change of +0.1 means the same on a large and a small face, upright or tilted.
// Each attribute names its target regions (the facial regions an edit of it should move).
#pragma once
#include <array>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace s3e {

// Facial regions of the iBUG 68-point scheme.
enum class FaceRegion : int { jaw = 0, brows = 1, nose = 2, eyes = 3, mouth = 4 };
inline constexpr int k_face_region_count = 5;
extern const std::array<const char*, k_face_region_count> k_face_region_names;
// Region of landmark `point` (0..67).
FaceRegion face_region_of_point(int point);

struct LandmarkAttribute {
  std::string name;
  std::string formula;                 // in X(i), Y(i): point i in the face frame, IOD units
  std::vector<FaceRegion> regions;     // target regions
};

// The attributes in measure order.
const std::vector<LandmarkAttribute>& landmark_attributes();

// Measures of landmark sets: points [B, 68, 2] (any unit, y down; e.g. the backbone's latents reshaped) ->
// [B, A] in landmark_attributes() order. Differentiable (torch autograd), any float dtype.
at::Tensor landmark_measures(const at::Tensor& points);

}  // namespace s3e
