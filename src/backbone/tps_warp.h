// tps_warp.h — the landmark backbone's decoder: a thin-plate-spline warp of an image that moves control points
// `from` to `to` (pixel coordinates, pixel centres at +0.5), with the image border pinned (so a warped crop pastes
// back without a seam). Backward mapping: the spline maps each output pixel to where it comes from in the source,
// fitted so that f(to_i) = from_i and f(border) = border, then the source is sampled bilinearly (grid_sample).
// from == to gives the image back exactly (the spline is then the identity affine map with zero bending).
// Differentiable in the image and in both point sets (torch autograd) through tps_warp_tensor().
#pragma once
#include <vector>

#include "core/image.h"
#include "face/face_types.h"

namespace at {
class Tensor;
}

namespace s3e {

struct TpsOptions {
  int pins_per_side = 8;       // border points held in place per side (corners included once)
  double regularisation = 1e-6;  // added to the kernel's diagonal: keeps coinciding control points solvable
  // The spline is evaluated every `grid_step` pixels and its displacement interpolated bilinearly in between (1: at
  // every pixel). The spline is smooth at the scale of a few pixels away from its control points, so a step of 4
  // misplaces no pixel by more than 0.12 px (measured for a 6 px mouth-corner edit, next to the moved points; tested
  // < 0.15), well under the resampling's own blur and the 0.6-1.3 px at which landmarks are re-detected, at 1/16 of
  // the cost: per pixel it is a [pixels x points] matrix per image, ~200 ms for a 192 px crop here.
  int grid_step = 4;
};

// The warped image (same size), RGB.
Image tps_warp(ImageView image, const std::vector<FacePoint>& from, const std::vector<FacePoint>& to,
               const TpsOptions& options = {});

// image [B,C,H,W] float, from/to [B,P,2] in pixels -> the warped [B,C,H,W] (same dtype as image).
at::Tensor tps_warp_tensor(const at::Tensor& image, const at::Tensor& from, const at::Tensor& to,
                           const TpsOptions& options = {});

}  // namespace s3e
