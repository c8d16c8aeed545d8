// FFHQ alignment, paste-back and identity distances on real faces (face-api sample photo 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "face/face_align.h"
#include "face/face_crops.h"
#include "face/face_identity.h"
#include "face/face_models.h"
#include "face_test_util.h"

namespace s3e::test {
namespace {

struct Sample {
  Image image;
  std::vector<FaceRecord> faces;
};

const Sample& sample1() {
  static Sample s = [] {
    Sample s;
    s.image = image_decode(face_sample_photos()[0]);
    FaceModelsOptions o;
    o.load_attributes = false;
    s.faces = FaceModels(o).analyze(s.image.view());
    return s;
  }();
  return s;
}

TEST(FaceAlign, QuadLevelsTheEyesAndRoundTrips) {
  const auto& s = sample1();
  ASSERT_EQ(s.faces.size(), 3u);
  for (auto& f : s.faces) {
    FaceQuad q = face_quad_ffhq(f.landmarks);
    const int size = 256;
    FacePoint le = face_quad_to_crop(q, size, face_left_eye(f.landmarks));
    FacePoint re = face_quad_to_crop(q, size, face_right_eye(f.landmarks));
    // FFHQ's x axis blends the eye line with the normal of the eye-mouth line: eyes nearly level and centred.
    EXPECT_NEAR(le.y, re.y, 0.05 * size);
    EXPECT_NEAR((le.x + re.x) / 2, size / 2.0, 0.05 * size);
    EXPECT_GT(re.x - le.x, size * 0.2);
    FacePoint back = face_quad_to_frame(q, size, face_quad_to_crop(q, size, {1234.5, 321.25}));
    EXPECT_NEAR(back.x, 1234.5, 1e-9);
    EXPECT_NEAR(back.y, 321.25, 1e-9);
  }
}

TEST(FaceAlign, PasteBackKeepsEverythingOutsideTheMaskExactly) {
  const auto& s = sample1();
  const FaceRecord& f = s.faces[0];
  FaceQuad q = face_quad_ffhq(f.landmarks);
  FacePasteOptions options;
  Image crop = face_crop_aligned(s.image.view(), q, 256);
  auto mask = face_paste_mask(s.image.width, s.image.height, f.landmarks, q, options);

  // Unedited crop: identical outside the mask, close inside (two bilinear resamplings).
  Image frame = s.image;
  face_paste_back(frame, crop, q, f.landmarks, options);
  size_t inside = 0, full = 0;
  double inside_error = 0;
  for (size_t i = 0; i < mask.size(); ++i)
    for (int c = 0; c < 3; ++c) {
      int d = std::abs(int(frame.rgb[3 * i + c]) - int(s.image.rgb[3 * i + c]));
      if (mask[i] == 0.f) ASSERT_EQ(d, 0) << "pixel " << i << " outside the mask changed";
      else inside += 1, inside_error += d;
      if (c == 0) full += mask[i] == 1.f;
    }
  ASSERT_GT(full, 20000u);  // the face is really covered
  EXPECT_LT(inside_error / inside, 3.0);

  // An edited (inverted) crop changes the masked face and nothing else; the landmark hull is fully replaced.
  Image edited = crop;
  for (auto& v : edited.rgb) v = static_cast<uint8_t>(255 - v);
  frame = s.image;
  face_paste_back(frame, edited, q, f.landmarks, options);
  size_t changed_inside = 0, changed_outside = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    bool changed = std::abs(int(frame.rgb[3 * i]) - int(s.image.rgb[3 * i])) > 0;
    (mask[i] == 0.f ? changed_outside : changed_inside) += changed;
  }
  EXPECT_EQ(changed_outside, 0u);
  EXPECT_GT(changed_inside, full / 2);
  FacePoint nose = f.landmarks[30];
  const uint8_t* p = frame.pixel(int(nose.x), int(nose.y));
  const uint8_t* o = s.image.pixel(int(nose.x), int(nose.y));
  EXPECT_NEAR(p[0], 255 - o[0], 12);  // nose tip replaced by the inverted crop
}

TEST(FaceAlign, MaskDilationAndFeatherGrowTheMask) {
  const auto& s = sample1();
  const FaceRecord& f = s.faces[0];
  FaceQuad q = face_quad_ffhq(f.landmarks);
  auto area = [&](double dilation, double feather) {
    auto m = face_paste_mask(s.image.width, s.image.height, f.landmarks, q, {dilation, feather});
    return std::count_if(m.begin(), m.end(), [](float v) { return v > 0.f; });
  };
  EXPECT_LT(area(0.0, 0.02), area(0.1, 0.02));
  EXPECT_LT(area(0.05, 0.02), area(0.05, 0.1));
}

TEST(FaceIdentity, ShippedPopulationMeanIsTheSamplePhotosMean) {
  FaceModelsOptions o;
  o.load_attributes = false;
  FaceModels models(o);
  std::vector<FaceDescriptor> all;
  std::vector<int> photo;
  for (size_t i = 0; i < 6; ++i) {
    Image img = image_decode(face_sample_photos()[i]);
    for (auto& f : models.analyze(img.view())) all.push_back(f.descriptor), photo.push_back(int(i));
  }
  ASSERT_EQ(all.size(), 21u);
  const FaceDescriptor& mean = face_population_mean();
  for (size_t k = 0; k < 128; ++k) {
    double m = 0;
    for (auto& d : all) m += d[k];
    EXPECT_NEAR(m / all.size(), mean[k], 1e-5) << k;
  }
  // Different people in the same photo: raw cosine is high, the centred cosine is not.
  std::vector<double> raw, centred, euclid;
  for (size_t a = 0; a < all.size(); ++a)
    for (size_t b = a + 1; b < all.size(); ++b)
      if (photo[a] == photo[b]) {
        raw.push_back(face_descriptor_cosine(all[a], all[b]));
        centred.push_back(face_descriptor_cosine_centred(all[a], all[b], mean));
        euclid.push_back(face_descriptor_distance(all[a], all[b]));
      }
  std::sort(raw.begin(), raw.end());
  std::sort(centred.begin(), centred.end());
  EXPECT_GT(raw.front(), 0.8);
  EXPECT_LT(centred[centred.size() / 2], 0.2);
  EXPECT_GT(*std::min_element(euclid.begin(), euclid.end()), 0.45);
}

TEST(FaceIdentity, SameFaceUnderABrightnessChangeStaysTheSameIdentity) {
  const auto& s = sample1();
  FaceModelsOptions o;
  o.load_attributes = false;
  FaceModels models(o);
  Image brighter = s.image;
  for (auto& v : brighter.rgb) v = static_cast<uint8_t>(std::min(255, v + 20));
  const FaceRecord& f = s.faces[0];
  FaceDescriptor d = models.descriptors(brighter.view(), {f.descriptor_crop})[0];
  EXPECT_GT(face_descriptor_cosine_centred(d, f.descriptor, face_population_mean()), 0.9);
  EXPECT_LT(face_descriptor_distance(d, f.descriptor), 0.3);
  // ...and another person in the same photo is not.
  EXPECT_LT(face_descriptor_cosine_centred(s.faces[1].descriptor, f.descriptor, face_population_mean()), 0.5);
}

}  // namespace
}  // namespace s3e::test
