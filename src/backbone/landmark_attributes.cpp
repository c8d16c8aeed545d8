#include "backbone/landmark_attributes.h"

#include <torch/torch.h>

#include <stdexcept>

namespace s3e {

const std::array<const char*, k_face_region_count> k_face_region_names = {"jaw", "brows", "nose", "eyes", "mouth"};

FaceRegion face_region_of_point(int point) {
  if (point < 0 || point >= 68) throw std::out_of_range("landmark index out of 0..67");
  if (point <= 16) return FaceRegion::jaw;
  if (point <= 26) return FaceRegion::brows;
  if (point <= 35) return FaceRegion::nose;
  if (point <= 47) return FaceRegion::eyes;
  return FaceRegion::mouth;
}

const std::vector<LandmarkAttribute>& landmark_attributes() {
  using R = FaceRegion;
  // Mouth corners are 48 and 54, lip centres 51 (top of the upper lip), 62 (its inner edge), 66 (inner edge of the
  // lower lip), 57 (bottom of the lower lip). Signs are chosen so that "more" of the named attribute is positive.
  static const std::vector<LandmarkAttribute> table = {
      {"smile", "mean(Y62, Y66) - mean(Y48, Y54): mouth corners above the midline between the inner lips", {R::mouth}},
      {"mouth_open", "Y66 - Y62: gap between the inner lips", {R::mouth, R::jaw}},
      {"eyes_open", "mean over both eyes of mean(lower lid) - mean(upper lid): (Y41+Y40-Y37-Y38)/2, (Y47+Y46-Y43-Y44)/2",
       {R::eyes}},
      {"brows_raised", "-mean(Y17..Y26): height of the brows above the eye line", {R::brows}},
      {"brow_tilt", "mean(Y21 - Y17, Y22 - Y26): inner brow ends lower than the outer ones (a frown)", {R::brows}},
      {"face_slim", "-(X14 - X2): minus the cheek width", {R::jaw}},
      {"jaw_width", "X11 - X5: width of the lower jaw", {R::jaw}},
      {"nose_width", "X35 - X31: width of the nostrils", {R::nose}},
      {"mouth_width", "X54 - X48: corner to corner", {R::mouth}},
      {"eye_size", "mean(X39 - X36, X45 - X42): eye width", {R::eyes}},
      {"lip_fullness", "(Y62 - Y51) + (Y57 - Y66): upper plus lower lip thickness", {R::mouth}},
      {"chin_length", "Y8 - Y57: lower lip to chin", {R::jaw, R::mouth}},
      {"nose_length", "Y33 - Y27: bridge to tip", {R::nose}},
  };
  return table;
}

at::Tensor landmark_measures(const at::Tensor& points) {
  if (points.dim() != 3 || points.size(1) != 68 || points.size(2) != 2)
    throw std::invalid_argument("landmark_measures: points must be [B, 68, 2]");
  using torch::indexing::Slice;
  auto mean_of = [&](int a, int b) { return points.index({Slice(), Slice(a, b + 1)}).mean(1); };  // [B,2]
  auto left_eye = mean_of(36, 41), right_eye = mean_of(42, 47);
  auto origin = (left_eye + right_eye) / 2;
  auto axis = right_eye - left_eye;
  auto iod = axis.norm(2, 1, true).clamp_min(1e-12);  // [B,1]
  auto ux = axis / iod;                                // x: along the eye line
  auto uy = torch::stack({-ux.select(1, 1), ux.select(1, 0)}, 1);  // y: perpendicular, down for an upright face
  auto rel = points - origin.unsqueeze(1);
  auto X_all = (rel * ux.unsqueeze(1)).sum(2) / iod;  // [B,68]
  auto Y_all = (rel * uy.unsqueeze(1)).sum(2) / iod;
  auto X = [&](int i) { return X_all.select(1, i); };
  auto Y = [&](int i) { return Y_all.select(1, i); };
  auto Ymean = [&](int a, int b) { return Y_all.index({Slice(), Slice(a, b + 1)}).mean(1); };

  std::vector<torch::Tensor> m = {
      (Y(62) + Y(66)) / 2 - (Y(48) + Y(54)) / 2,
      Y(66) - Y(62),
      ((Y(41) + Y(40) - Y(37) - Y(38)) / 2 + (Y(47) + Y(46) - Y(43) - Y(44)) / 2) / 2,
      -Ymean(17, 26),
      ((Y(21) - Y(17)) + (Y(22) - Y(26))) / 2,
      -(X(14) - X(2)),
      X(11) - X(5),
      X(35) - X(31),
      X(54) - X(48),
      ((X(39) - X(36)) + (X(45) - X(42))) / 2,
      (Y(62) - Y(51)) + (Y(57) - Y(66)),
      Y(8) - Y(57),
      Y(33) - Y(27),
  };
  if (m.size() != landmark_attributes().size()) throw std::logic_error("landmark_measures: table and formulas differ");
  return torch::stack(m, 1);
}

}  // namespace s3e
