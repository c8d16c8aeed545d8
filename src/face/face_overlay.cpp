#include "face/face_overlay.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace s3e {
namespace {

void dot(Image& img, int cx, int cy, int radius, OverlayColor c) {
  for (int y = cy - radius; y <= cy + radius; ++y)
    for (int x = cx - radius; x <= cx + radius; ++x)
      if (x >= 0 && y >= 0 && x < img.width && y < img.height &&
          (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius)
        std::copy(c.begin(), c.end(), img.pixel(x, y));
}

// The 5x7 font: one glyph per character the labels need (capitals, digits, a little punctuation), drawn as text so
// that a wrong pixel is visible in review. '#' is ink.
struct Glyph {
  char c;
  const char* rows[k_overlay_glyph_height];
};
// clang-format off
const Glyph k_font[] = {
  {' ', {".....", ".....", ".....", ".....", ".....", ".....", "....."}},
  {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
  {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
  {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
  {'D', {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}},
  {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
  {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
  {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
  {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
  {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
  {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
  {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
  {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
  {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
  {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
  {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
  {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
  {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
  {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
  {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
  {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
  {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
  {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
  {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
  {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
  {'Y', {"#...#", "#...#", "#...#", ".#.#.", "..#..", "..#..", "..#.."}},
  {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
  {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
  {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
  {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
  {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
  {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
  {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
  {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
  {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
  {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
  {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
  {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
  {',', {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."}},
  {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
  {'%', {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"}},
  {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
  {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
  {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
  {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
  {'?', {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}},
};
// clang-format on

const Glyph& glyph_of(char c) {
  char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const Glyph& g : k_font)
    if (g.c == u) return g;
  for (const Glyph& g : k_font)
    if (g.c == '?') return g;
  return k_font[0];
}

void fill_rect(Image& img, int x0, int y0, int w, int h, OverlayColor c) {
  int x1 = std::min(img.width, x0 + w), y1 = std::min(img.height, y0 + h);
  for (int y = std::max(0, y0); y < y1; ++y)
    for (int x = std::max(0, x0); x < x1; ++x) std::copy(c.begin(), c.end(), img.pixel(x, y));
}

}  // namespace

OverlayColor overlay_track_color(int track_id) {
  static const OverlayColor palette[] = {{0, 230, 64},  {255, 170, 0}, {0, 160, 255}, {255, 60, 200},
                                         {200, 255, 0}, {0, 255, 230}, {255, 80, 60}, {160, 100, 255}};
  return palette[(track_id < 0 ? 0 : track_id) % 8];
}

void overlay_line(Image& image, FacePoint a, FacePoint b, OverlayColor color, int thickness) {
  double len = std::hypot(b.x - a.x, b.y - a.y);
  int steps = std::max(1, static_cast<int>(std::ceil(len)));
  for (int i = 0; i <= steps; ++i) {
    double t = double(i) / steps;
    dot(image, static_cast<int>(std::lround(a.x + (b.x - a.x) * t)), static_cast<int>(std::lround(a.y + (b.y - a.y) * t)),
        std::max(0, thickness / 2), color);
  }
}

void overlay_box(Image& image, const FaceBox& b, OverlayColor color, int thickness) {
  FacePoint tl{b.x, b.y}, tr{b.right(), b.y}, br{b.right(), b.bottom()}, bl{b.x, b.bottom()};
  overlay_line(image, tl, tr, color, thickness);
  overlay_line(image, tr, br, color, thickness);
  overlay_line(image, br, bl, color, thickness);
  overlay_line(image, bl, tl, color, thickness);
}

void overlay_quad(Image& image, const FaceQuad& q, OverlayColor color, int thickness) {
  for (int i = 0; i < 4; ++i) overlay_line(image, q.corners[i], q.corners[(i + 1) % 4], color, thickness);
}

void overlay_landmarks(Image& image, const FaceLandmarks& l, OverlayColor color, int radius) {
  // Contours of the iBUG scheme: [begin, end) and whether it closes.
  const struct { int begin, end; bool closed; } parts[] = {{0, 17, false},  {17, 22, false}, {22, 27, false},
                                                           {27, 31, false}, {31, 36, false}, {36, 42, true},
                                                           {42, 48, true},  {48, 60, true},  {60, 68, true}};
  for (auto& p : parts) {
    for (int i = p.begin; i + 1 < p.end; ++i) overlay_line(image, l[i], l[i + 1], color, 1);
    if (p.closed) overlay_line(image, l[p.end - 1], l[p.begin], color, 1);
  }
  for (auto& pt : l) dot(image, static_cast<int>(std::lround(pt.x)), static_cast<int>(std::lround(pt.y)), radius, {255, 40, 40});
}

void overlay_bar(Image& image, int x, int y, int width, double value, OverlayColor color) {
  int filled = static_cast<int>(std::lround(std::clamp(value, 0.0, 1.0) * width));
  for (int yy = y; yy < y + 6; ++yy)
    for (int xx = x; xx < x + width; ++xx)
      if (xx >= 0 && yy >= 0 && xx < image.width && yy < image.height) {
        OverlayColor c = xx < x + filled ? color : OverlayColor{40, 40, 40};
        std::copy(c.begin(), c.end(), image.pixel(xx, yy));
      }
}

}  // namespace s3e

namespace s3e {

const std::string& overlay_font_characters() {
  static const std::string chars = [] {
    std::string s;
    for (const Glyph& g : k_font) s += g.c;
    return s;
  }();
  return chars;
}

int overlay_text_width(const std::string& text, int scale) {
  // The last character's spacing column is not ink.
  return text.empty() ? 0 : (static_cast<int>(text.size()) * (k_overlay_glyph_width + 1) - 1) * scale;
}

void overlay_text(Image& image, int x, int y, const std::string& text, OverlayColor color, int scale) {
  scale = std::max(1, scale);
  for (size_t i = 0; i < text.size(); ++i) {
    const Glyph& g = glyph_of(text[i]);
    int gx = x + static_cast<int>(i) * (k_overlay_glyph_width + 1) * scale;
    for (int row = 0; row < k_overlay_glyph_height; ++row)
      for (int col = 0; col < k_overlay_glyph_width; ++col)
        if (g.rows[row][col] == '#') fill_rect(image, gx + col * scale, y + row * scale, scale, scale, color);
  }
}

std::vector<std::string> overlay_attribute_lines(const FaceAttributes& a) {
  int best = static_cast<int>(std::max_element(a.expressions.begin(), a.expressions.end()) - a.expressions.begin());
  bool male = a.male_probability > 0.5;
  return {fmt::format("age {}", static_cast<int>(std::lround(a.age))),
          fmt::format("{} {:.2f}", male ? "male" : "female", male ? a.male_probability : 1.0 - a.male_probability),
          fmt::format("{} {:.2f}", k_face_expression_names[best], a.expressions[best])};
}

FaceRect overlay_attributes(Image& image, const FaceBox& box, const FaceAttributes& a, OverlayColor color) {
  const std::vector<std::string> lines = overlay_attribute_lines(a);
  // ~80 box pixels per glyph-scale step: 3x (21 px capitals) on face-api's 1920x1280 sample faces, 1-2x on video.
  const int scale = std::clamp(static_cast<int>(box.width / 80), 1, 8);
  const int pad = 2 * scale, line_h = (k_overlay_glyph_height + 3) * scale, border = std::max(1, scale / 2);
  int text_w = 0;
  for (auto& l : lines) text_w = std::max(text_w, overlay_text_width(l, scale));
  FaceRect r;
  r.width = std::min(image.width, text_w + 2 * pad + 2 * border);
  r.height = std::min(image.height, static_cast<int>(lines.size()) * line_h - 3 * scale + 2 * pad + 2 * border);
  const int gap = 4;
  int below = static_cast<int>(std::lround(box.bottom())) + gap, above = static_cast<int>(std::lround(box.y)) - gap - r.height;
  r.y = below + r.height <= image.height ? below : above >= 0 ? above : image.height - r.height;
  r.x = static_cast<int>(std::lround(box.x));
  r.x = std::clamp(r.x, 0, std::max(0, image.width - r.width));
  r.y = std::clamp(r.y, 0, std::max(0, image.height - r.height));
  // Edge in the track's colour ties the panel to its box; near-black fill and white text read on any background.
  fill_rect(image, r.x, r.y, r.width, r.height, color);
  fill_rect(image, r.x + border, r.y + border, r.width - 2 * border, r.height - 2 * border, {16, 16, 16});
  for (size_t i = 0; i < lines.size(); ++i)
    overlay_text(image, r.x + border + pad, r.y + border + pad + static_cast<int>(i) * line_h, lines[i],
                 {255, 255, 255}, scale);
  return r;
}

}  // namespace s3e
