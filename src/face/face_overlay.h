// face_overlay.h — drawing for overlays a person can look at: boxes, the 68 landmarks, crop quads, a colour per
// track, and text labels (age, gender, strongest expression) in a small built-in 5x7 bitmap font.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "face/face_align.h"
#include "face/face_types.h"

namespace s3e {

using OverlayColor = std::array<uint8_t, 3>;

// A distinct colour per track id.
OverlayColor overlay_track_color(int track_id);
void overlay_line(Image& image, FacePoint a, FacePoint b, OverlayColor color, int thickness = 2);
void overlay_box(Image& image, const FaceBox& box, OverlayColor color, int thickness = 2);
void overlay_quad(Image& image, const FaceQuad& quad, OverlayColor color, int thickness = 1);
// Dots at the 68 points, joined along the jaw, brows, nose, eyes and lips.
void overlay_landmarks(Image& image, const FaceLandmarks& landmarks, OverlayColor color, int radius = 2);
// A horizontal bar of `value` (0..1) under a box, for the strongest expression/gender probability.
void overlay_bar(Image& image, int x, int y, int width, double value, OverlayColor color);

// Text in the built-in 5x7 font, top-left at (x, y), each font pixel drawn as a scale x scale square; clipped to the
// image. Letters are drawn as capitals; characters without a glyph as '?'. A character advances 6 * scale pixels.
void overlay_text(Image& image, int x, int y, const std::string& text, OverlayColor color, int scale = 1);
int overlay_text_width(const std::string& text, int scale = 1);
constexpr int k_overlay_glyph_width = 5, k_overlay_glyph_height = 7;
// The characters the font has a glyph for (space included).
const std::string& overlay_font_characters();

// The label lines of a face: "age 31", "female 0.93" (the likelier gender and its probability), "happy 0.97" (the
// strongest expression and its probability).
std::vector<std::string> overlay_attribute_lines(const FaceAttributes& attributes);
// Those lines on a dark panel edged in `color`, under the box (above it when there is no room below; always inside
// the image), with a glyph scale that follows the box width so they stay legible at any image size. Returns the
// panel's rectangle.
FaceRect overlay_attributes(Image& image, const FaceBox& box, const FaceAttributes& attributes, OverlayColor color);

}  // namespace s3e
