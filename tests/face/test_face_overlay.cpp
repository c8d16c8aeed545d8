// Overlay labels: the built-in 5x7 font (every glyph distinct, drawn where and as large as asked), the label texts
// (age, likelier gender, strongest expression with probabilities), the panel's placement inside the image, and the
// labelled overlay of face-api's sample1.jpg against an unlabelled render of the same faces.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "common/test_util.h"
#include "face/face_align.h"
#include "face/face_models.h"
#include "face/face_overlay.h"
#include "face_test_util.h"
#include "media/image_io.h"

namespace fs = std::filesystem;

namespace s3e::test {
namespace {

const OverlayColor k_white{255, 255, 255};

bool is_white(const Image& img, int x, int y) {
  const uint8_t* p = img.pixel(x, y);
  return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

int count_white(const Image& img, int x0, int y0, int w, int h) {
  int n = 0;
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x) n += is_white(img, x, y);
  return n;
}

// The ink of one character at scale 1, as a string of 35 '0'/'1' (what a reader would see).
std::string glyph_bits(char c) {
  Image img(k_overlay_glyph_width, k_overlay_glyph_height);
  overlay_text(img, 0, 0, std::string(1, c), k_white, 1);
  std::string bits;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) bits += is_white(img, x, y) ? '1' : '0';
  return bits;
}

TEST(OverlayFont, EveryGlyphIsDistinctAndInsideItsCell) {
  const std::string& chars = overlay_font_characters();
  // What the labels use: every letter of the expression names and genders, digits, '.', space.
  for (char c : std::string("0123456789 .ABCDEFGHIJKLMNOPQRSTUVWXYZ")) EXPECT_NE(chars.find(c), std::string::npos) << c;
  std::set<std::string> seen;
  for (char c : chars) {
    std::string bits = glyph_bits(c);
    if (c != ' ') {
      EXPECT_NE(bits.find('1'), std::string::npos) << "glyph '" << c << "' has no ink";
    }
    EXPECT_TRUE(seen.insert(bits).second) << "glyph '" << c << "' looks like another one";
    // Nothing spills out of the 5x7 cell into the spacing column or below.
    Image wide(k_overlay_glyph_width + 2, k_overlay_glyph_height + 2);
    overlay_text(wide, 0, 0, std::string(1, c), k_white, 1);
    EXPECT_EQ(count_white(wide, k_overlay_glyph_width, 0, 2, wide.height), 0) << c;
    EXPECT_EQ(count_white(wide, 0, k_overlay_glyph_height, wide.width, 2), 0) << c;
  }
  // Lower case reads as capitals; a character without a glyph as '?'.
  EXPECT_EQ(glyph_bits('a'), glyph_bits('A'));
  EXPECT_EQ(glyph_bits('~'), glyph_bits('?'));
}

TEST(OverlayFont, TextIsScaledPlacedAndClipped) {
  // '1' at scale 3 from (4, 5): 10 ink pixels of the glyph, each a 3x3 square; top row ink only at column 2.
  Image img(40, 40);
  overlay_text(img, 4, 5, "1", k_white, 3);
  EXPECT_EQ(count_white(img, 0, 0, 40, 40), 10 * 9);
  EXPECT_TRUE(is_white(img, 4 + 2 * 3, 5));
  EXPECT_TRUE(is_white(img, 4 + 2 * 3 + 2, 5 + 2));
  EXPECT_FALSE(is_white(img, 4 + 1 * 3 + 2, 5));
  EXPECT_EQ(count_white(img, 0, 0, 40, 5), 0);
  EXPECT_EQ(overlay_text_width("12", 3), (2 * 6 - 1) * 3);
  // The second character starts 6 * scale to the right.
  Image two(60, 30);
  overlay_text(two, 0, 0, "11", k_white, 2);
  EXPECT_EQ(count_white(two, 12, 0, 12, 30), 10 * 4);
  // Partly outside the image: drawn where it can be, no write out of bounds.
  Image small(8, 8);
  overlay_text(small, -3, 4, "88", k_white, 2);
  EXPECT_GT(count_white(small, 0, 0, 8, 8), 0);
}

TEST(OverlayLabels, LinesNameAgeLikelierGenderAndStrongestExpression) {
  FaceAttributes a;
  a.age = 31.4f;
  a.male_probability = 0.2f;
  a.expressions = {0.05f, 0.9f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f};
  EXPECT_EQ(overlay_attribute_lines(a), (std::vector<std::string>{"age 31", "female 0.80", "happy 0.90"}));
  a.male_probability = 0.75f;
  a.expressions = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.4f};
  EXPECT_EQ(overlay_attribute_lines(a)[1], "male 0.75");
  EXPECT_EQ(overlay_attribute_lines(a)[2], "surprised 0.40");
}

TEST(OverlayLabels, PanelStaysInsideTheImageAndGoesAboveWhenNoRoomBelow) {
  Image img(320, 240, 100);
  FaceAttributes a;
  a.age = 40;
  a.expressions[0] = 1;
  FaceRect below = overlay_attributes(img, {20, 20, 100, 100}, a, {0, 230, 64});
  EXPECT_EQ(below.x, 20);
  EXPECT_GE(below.y, 120);
  FaceRect above = overlay_attributes(img, {250, 160, 100, 80}, a, {0, 230, 64});  // box at the bottom-right edge
  EXPECT_LE(above.y + above.height, 160);
  EXPECT_LE(above.x + above.width, img.width);
  EXPECT_GE(above.x, 0);
}

// The overlay as `s3editor faces` draws it, with or without the labels.
Image render(const Image& photo, const std::vector<FaceRecord>& faces, bool labels, std::vector<FaceRect>* panels) {
  Image drawn = photo;
  for (size_t i = 0; i < faces.size(); ++i) {
    const FaceRecord& f = faces[i];
    OverlayColor c = overlay_track_color(static_cast<int>(i));
    overlay_box(drawn, f.detection.box, c, 3);
    overlay_quad(drawn, face_quad_ffhq(f.landmarks), {0, 255, 255}, 1);
    overlay_landmarks(drawn, f.landmarks, c, 3);
    if (labels) panels->push_back(overlay_attributes(drawn, f.detection.box, f.attributes, c));
  }
  return drawn;
}

TEST(OverlayLabels, Sample1OverlayCarriesReadableLabelsNextToEachFace) {
  Image photo = image_decode(face_sample_photos()[0]);
  FaceModelsOptions o;
  o.load_descriptor = false;
  FaceModels models(o);
  auto faces = models.analyze(photo.view());
  ASSERT_EQ(faces.size(), 3u);
  std::vector<FaceRect> panels;
  Image plain = render(photo, faces, false, nullptr), labelled = render(photo, faces, true, &panels);
  ASSERT_EQ(panels.size(), 3u);

  // Every pixel the labels changed lies in a panel, and each panel changed most of its pixels (a dark plate).
  std::vector<int> changed(panels.size(), 0);
  int outside = 0;
  for (int y = 0; y < photo.height; ++y)
    for (int x = 0; x < photo.width; ++x) {
      if (std::equal(plain.pixel(x, y), plain.pixel(x, y) + 3, labelled.pixel(x, y))) continue;
      bool in = false;
      for (size_t k = 0; k < panels.size(); ++k) {
        const FaceRect& r = panels[k];
        if (x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height) ++changed[k], in = true;
      }
      outside += !in;
    }
  EXPECT_EQ(outside, 0);
  for (size_t k = 0; k < panels.size(); ++k) {
    const FaceRect& r = panels[k];
    const FaceBox& b = faces[k].detection.box;
    SCOPED_TRACE("face " + std::to_string(k));
    EXPECT_GT(changed[k], r.width * r.height / 2);
    // Next to its box: starts at the box's left edge, just under (or over) it.
    EXPECT_NEAR(r.x, b.x, 1.0);
    EXPECT_TRUE(std::abs(r.y - b.bottom()) < 8 || std::abs(r.y + r.height - b.y) < 8) << r.y << " " << b.y;
    // Legible size: capitals at least 14 pixels tall on this 1920x1280 photo, i.e. scale >= 2.
    int scale = std::clamp(static_cast<int>(b.width / 80), 1, 8);
    EXPECT_GE(scale, 2);
    // All the ink of the three lines is there in white, none clipped: the count of white pixels in the panel is
    // exactly the lines' glyph ink at that scale (the photo under the plate is covered by the dark fill).
    int ink = 0;
    for (auto& line : overlay_attribute_lines(faces[k].attributes)) {
      Image l(overlay_text_width(line, 1), k_overlay_glyph_height);
      overlay_text(l, 0, 0, line, k_white, 1);
      ink += count_white(l, 0, 0, l.width, l.height);
    }
    EXPECT_EQ(count_white(labelled, r.x, r.y, r.width, r.height), ink * scale * scale);
  }
  // Panels of different faces do not cover one another (each label stays readable).
  for (size_t i = 0; i < panels.size(); ++i)
    for (size_t j = i + 1; j < panels.size(); ++j) {
      const FaceRect &a = panels[i], &b = panels[j];
      bool overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      EXPECT_FALSE(overlap) << i << " " << j;
    }

  // For a person to look at: $S3E_OVERLAY_PNG, else the test's temporary folder (kept with S3E_KEEP_TEST_FILES).
  TempDir dir("face_overlay");
  const char* env = std::getenv("S3E_OVERLAY_PNG");
  fs::path png = env ? fs::path(env) : dir / "sample1_labelled.png";
  Frame out;
  out.width = labelled.width, out.height = labelled.height, out.rgb = labelled.rgb;
  image_write_png(png.string(), out);
  EXPECT_GT(fs::file_size(png), 100000u);
  std::printf("labelled overlay: %s\n", png.c_str());
}

}  // namespace
}  // namespace s3e::test
