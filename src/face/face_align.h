// face_align.h — FFHQ-style alignment and its inverse. The quad comes from the eyes and the mouth (the FFHQ recipe:
// eye-to-eye and eye-to-mouth vectors, side max(2*|eye-eye|, 1.8*|eye-mouth|)); the crop is the bilinear
// resampling of that quad to size x size; paste-back maps an edited crop into the frame through the same quad and
// blends it with a feathered mask built from the landmarks (convex hull of the 68 points, dilated, then feathered).
// Pixels where the mask is 0 are never written, so the frame outside the mask is reproduced exactly.
#pragma once
#include <array>
#include <vector>

#include "face/face_types.h"

namespace s3e {

// Corners in frame pixels (continuous coordinates, pixel centres at +0.5): top-left, bottom-left, bottom-right,
// top-right of the aligned face (FFHQ order).
struct FaceQuad {
  std::array<FacePoint, 4> corners{};
  double side() const;  // length of the top edge
};

FaceQuad face_quad_ffhq(const FaceLandmarks& landmarks);

// Maps a crop point (u, v) in [0, size] to the frame, and back.
FacePoint face_quad_to_frame(const FaceQuad& quad, int size, FacePoint crop_point);
FacePoint face_quad_to_crop(const FaceQuad& quad, int size, FacePoint frame_point);

// The aligned size x size crop (bilinear, edge pixels repeated outside the frame).
Image face_crop_aligned(ImageView frame, const FaceQuad& quad, int size);

struct FacePasteOptions {
  double dilation = 0.05;  // mask grows beyond the landmark hull by this share of the quad side
  double feather = 0.08;   // then fades to 0 over this share of the quad side
};

// A blend mask over the rectangle of the frame where it can be non-zero (empty when it is zero everywhere).
struct FaceBlendMask {
  int x0 = 0, y0 = 0, width = 0, height = 0;
  std::vector<float> alpha;  // width*height, row-major, 0..1
  float at(int x, int y) const {  // frame coordinates; 0 outside the rectangle
    x -= x0, y -= y0;
    return x < 0 || y < 0 || x >= width || y >= height ? 0.f : alpha[size_t(y) * width + x];
  }
};

// Blend weights: 1 inside the convex hull of `points` (frame pixels) grown by options.dilation, fading to 0 over
// options.feather (both as shares of the quad's side), and 0 wherever the quad does not cover the pixel. An edit
// that moves landmarks passes both the source and the edited points, so the moved parts stay inside the mask.
FaceBlendMask face_blend_mask(int frame_width, int frame_height, const std::vector<FacePoint>& points,
                              const FaceQuad& quad, const FacePasteOptions& options);

// Blends `crop` (square, aligned with `quad`) into `frame` under `mask`: pixels where the mask is 0 are not written.
void face_paste_masked(Image& frame, ImageView crop, const FaceQuad& quad, const FaceBlendMask& mask);

// Blend weights (0..1) for every frame pixel: 1 inside the dilated landmark hull, fading to 0 over the feather,
// and 0 wherever the quad does not cover the pixel. Row-major width*height.
std::vector<float> face_paste_mask(int width, int height, const FaceLandmarks& landmarks, const FaceQuad& quad,
                                   const FacePasteOptions& options);

// Pastes `crop` (size x size, aligned with `quad`) back into `frame` under face_paste_mask().
void face_paste_back(Image& frame, const Image& crop, const FaceQuad& quad, const FaceLandmarks& landmarks,
                     const FacePasteOptions& options);

}  // namespace s3e
