// face_overlay.h — drawing for overlays a person can look at: boxes, the 68 landmarks, crop quads, and a colour
// per track.
#pragma once
#include <array>

#include "face/face_align.h"
#include "face/face_types.h"

namespace s3e {

using OverlayColor = std::array<uint8_t, 3>;

// A distinct colour per track id.
OverlayColor overlay_track_color(int track_id);
void overlay_line(RgbImage& image, FacePoint a, FacePoint b, OverlayColor color, int thickness = 2);
void overlay_box(RgbImage& image, const FaceBox& box, OverlayColor color, int thickness = 2);
void overlay_quad(RgbImage& image, const FaceQuad& quad, OverlayColor color, int thickness = 1);
// Dots at the 68 points, joined along the jaw, brows, nose, eyes and lips.
void overlay_landmarks(RgbImage& image, const FaceLandmarks& landmarks, OverlayColor color, int radius = 2);
// A horizontal bar of `value` (0..1) under a box, for the strongest expression/gender probability.
void overlay_bar(RgbImage& image, int x, int y, int width, double value, OverlayColor color);

}  // namespace s3e
