// The built-in landmark backbone: attribute formulas on hand-made landmark sets (values, invariance, gradients),
// the thin-plate-spline decoder on synthetic images (identity, control points, pinned border), and the
// interface (latents, region map, measures).
#include <cstdio>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "backbone/backbone.h"
#include "backbone/landmark_attributes.h"
#include "backbone/landmark_backbone.h"
#include "backbone/tps_warp.h"

namespace s3e::test {
namespace {

int attribute_index(const std::string& name) {
  const auto& t = landmark_attributes();
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i].name == name) return int(i);
  ADD_FAILURE() << "no attribute " << name;
  return 0;
}

// A hand-made face in face-frame units (eye centres at (-0.5, 0) and (0.5, 0), so IOD = 1), with values chosen
// so that every formula has a known answer.
std::array<std::array<double, 2>, 68> canonical_face() {
  std::array<std::array<double, 2>, 68> p{};
  for (int i = 0; i <= 16; ++i) {  // jaw: a U from ear to ear
    double a = M_PI * i / 16;
    p[i] = {-1.0 * std::cos(a), 0.2 + 1.3 * std::sin(a)};
  }
  for (int i = 0; i < 5; ++i) p[17 + i] = {-0.9 + 0.15 * i, -0.4}, p[22 + i] = {0.3 + 0.15 * i, -0.4};  // brows
  p[21][1] = -0.35, p[22][1] = -0.35;  // inner ends 0.05 lower
  for (int i = 0; i < 4; ++i) p[27 + i] = {0, 0.1 + 0.12 * i};                                    // nose bridge
  for (int i = 0; i < 5; ++i) p[31 + i] = {-0.2 + 0.1 * i, 0.6};                                  // nostrils
  p[33][1] = 0.65;                                                                                // tip
  auto eye = [&](int first, double cx) {  // corners at cx -+ 0.15, lids at -+0.06; centre exactly (cx, 0)
    p[first + 0] = {cx - 0.15, 0}, p[first + 3] = {cx + 0.15, 0};
    p[first + 1] = {cx - 0.05, -0.06}, p[first + 2] = {cx + 0.05, -0.06};
    p[first + 4] = {cx + 0.05, 0.06}, p[first + 5] = {cx - 0.05, 0.06};
  };
  eye(36, -0.5), eye(42, 0.5);
  p[48] = {-0.4, 1.02}, p[54] = {0.4, 1.02};                                        // mouth corners
  for (int i = 49; i <= 53; ++i) p[i] = {-0.4 + 0.8 * (i - 48) / 6, 0.92};          // upper lip top
  p[51] = {0, 0.9};
  for (int i = 55; i <= 59; ++i) p[i] = {0.4 - 0.8 * (i - 54) / 6, 1.15};           // lower lip bottom
  p[57] = {0, 1.15};
  p[60] = {-0.35, 1.0}, p[64] = {0.35, 1.0};
  for (int i = 61; i <= 63; ++i) p[i] = {-0.35 + 0.7 * (i - 60) / 4, 0.95};        // inner upper lip
  for (int i = 65; i <= 67; ++i) p[i] = {0.35 - 0.7 * (i - 64) / 4, 1.05};         // inner lower lip
  return p;
}

// The face placed in an image: rotated by `angle`, scaled by `scale` pixels per IOD, shifted.
torch::Tensor place(const std::array<std::array<double, 2>, 68>& face, double angle, double scale, double dx,
                    double dy) {
  std::vector<double> v;
  for (auto& q : face) {
    double x = q[0] * scale, y = q[1] * scale;
    v.push_back(std::cos(angle) * x - std::sin(angle) * y + dx);
    v.push_back(std::sin(angle) * x + std::cos(angle) * y + dy);
  }
  return torch::tensor(v, torch::kFloat64).view({1, 68, 2});
}

TEST(LandmarkAttributes, FormulasGiveTheirHandComputedValues) {
  auto m = landmark_measures(place(canonical_face(), 0, 1, 0, 0))[0];
  auto at = [&](const char* name) { return m[attribute_index(name)].item<double>(); };
  EXPECT_NEAR(at("smile"), (0.95 + 1.05) / 2 - 1.02, 1e-12);
  EXPECT_NEAR(at("mouth_open"), 0.1, 1e-12);
  EXPECT_NEAR(at("eyes_open"), 0.12, 1e-12);
  EXPECT_NEAR(at("brows_raised"), (8 * 0.4 + 2 * 0.35) / 10, 1e-12);
  EXPECT_NEAR(at("brow_tilt"), 0.05, 1e-12);
  EXPECT_NEAR(at("face_slim"), -2 * std::cos(M_PI * 2 / 16), 1e-12);
  EXPECT_NEAR(at("jaw_width"), 2 * std::cos(M_PI * 5 / 16), 1e-12);
  EXPECT_NEAR(at("nose_width"), 0.4, 1e-12);
  EXPECT_NEAR(at("mouth_width"), 0.8, 1e-12);
  EXPECT_NEAR(at("eye_size"), 0.3, 1e-12);
  EXPECT_NEAR(at("lip_fullness"), 0.05 + 0.1, 1e-12);
  EXPECT_NEAR(at("chin_length"), 1.5 - 1.15, 1e-12);
  EXPECT_NEAR(at("nose_length"), 0.65 - 0.1, 1e-12);
  EXPECT_GE(landmark_attributes().size(), 12u);
}

TEST(LandmarkAttributes, InvariantToPositionScaleAndTilt) {
  auto face = canonical_face();
  auto reference = landmark_measures(place(face, 0, 1, 0, 0));
  for (double angle : {-0.4, 0.1, 0.5})
    for (double scale : {40.0, 250.0}) {
      auto m = landmark_measures(place(face, angle, scale, 123.4, -56.7));
      EXPECT_LT((m - reference).abs().max().item<double>(), 1e-9) << "angle " << angle << " scale " << scale;
    }
}

TEST(LandmarkAttributes, EditsMeanTheSameInIodUnits) {
  // Moving the mouth corners up by 0.1 IOD raises smile by exactly 0.1 on a small tilted face and a large one.
  for (double scale : {30.0, 300.0}) {
    auto face = canonical_face();
    auto before = landmark_measures(place(face, 0.3, scale, 10, 20));
    face[48][1] -= 0.1, face[54][1] -= 0.1;
    auto after = landmark_measures(place(face, 0.3, scale, 10, 20));
    auto change = (after - before)[0];
    EXPECT_NEAR(change[attribute_index("smile")].item<double>(), 0.1, 1e-9);
    EXPECT_NEAR(change[attribute_index("mouth_open")].item<double>(), 0.0, 1e-9);
    EXPECT_NEAR(change[attribute_index("eyes_open")].item<double>(), 0.0, 1e-9);
  }
}

TEST(LandmarkAttributes, DifferentiableAndMovedByTheirTargetRegions) {
  auto points = place(canonical_face(), 0.2, 100, 50, 60).requires_grad_(true);
  auto m = landmark_measures(points);
  const auto& table = landmark_attributes();
  for (size_t a = 0; a < table.size(); ++a) {
    auto grad = torch::autograd::grad({m[0][int64_t(a)]}, {points}, {}, true)[0][0];  // [68,2]
    double in_target = 0;
    for (int p = 0; p < 68; ++p)
      for (auto r : table[a].regions)
        if (face_region_of_point(p) == r) in_target += grad[p].abs().sum().item<double>();
    EXPECT_GT(in_target, 1e-6) << table[a].name << ": its target regions do not move it";
  }
}

// A smooth test picture: a gradient with a bright Gaussian spot at (sx, sy).
torch::Tensor spot_image(int size, double sx, double sy) {
  auto ys = torch::arange(size, torch::kFloat64) + 0.5, xs = torch::arange(size, torch::kFloat64) + 0.5;
  auto g = torch::meshgrid({ys, xs}, "ij");
  auto spot = torch::exp(-((g[1] - sx).pow(2) + (g[0] - sy).pow(2)) / (2 * 3.0 * 3.0));
  auto base = 0.2 + 0.3 * g[1] / size;
  return torch::stack({spot, base, base.flip(1)}, 0).unsqueeze(0).to(torch::kFloat32);
}

torch::Tensor points_of(std::initializer_list<std::array<double, 2>> list) {
  std::vector<double> v;
  for (auto& p : list) v.insert(v.end(), {p[0], p[1]});
  return torch::tensor(v, torch::kFloat64).view({1, int64_t(list.size()), 2});
}

TEST(TpsWarp, SamePointsGiveTheImageBack) {
  auto image = spot_image(256, 100, 140);
  auto pts = points_of({{100, 140}, {60.25, 80.5}, {200, 190}, {128, 30}, {100, 140}});  // a repeated point too
  auto warped = tps_warp_tensor(image, pts, pts);
  EXPECT_LE((warped - image).abs().max().item<double>(), 1e-5);
}

TEST(TpsWarp, MovesControlPointsAndPinsTheBorder) {
  const int size = 256;
  auto image = spot_image(size, 100, 140);
  auto from = points_of({{100, 140}, {60, 80}, {200, 190}, {190, 60}});
  auto to = points_of({{106, 134}, {60, 80}, {200, 190}, {190, 60}});
  auto warped = tps_warp_tensor(image, from, to);
  // The spot's centre of mass follows its control point.
  auto spot = warped[0][0].to(torch::kFloat64);
  auto ys = torch::arange(size, torch::kFloat64) + 0.5, xs = ys.clone();
  auto weight = (spot - 0.02).clamp_min(0);
  double cx = (weight.sum(0) * xs).sum().item<double>() / weight.sum().item<double>();
  double cy = (weight.sum(1) * ys).sum().item<double>() / weight.sum().item<double>();
  EXPECT_NEAR(cx, 106, 0.5);
  EXPECT_NEAR(cy, 134, 0.5);
  // Border rows and columns stay where they were.
  using torch::indexing::Slice;
  for (auto border : {warped.index({Slice(), Slice(), 0}) - image.index({Slice(), Slice(), 0}),
                      warped.index({Slice(), Slice(), size - 1}) - image.index({Slice(), Slice(), size - 1}),
                      warped.index({Slice(), Slice(), Slice(), 0}) - image.index({Slice(), Slice(), Slice(), 0}),
                      warped.index({Slice(), Slice(), Slice(), size - 1}) -
                          image.index({Slice(), Slice(), Slice(), size - 1})})
    EXPECT_LT(border.abs().max().item<double>(), 2e-3);
}

TEST(TpsWarp, CoarseLatticeMatchesThePerPixelSpline) {
  // Ramps in x and y: a warped value is where the pixel came from, so value differences are displacement errors.
  const int64_t size = 192;
  auto ramp = (torch::arange(size, torch::kFloat32) + 0.5) / float(size);
  auto image = torch::stack({ramp.view({1, -1}).expand({size, size}), ramp.view({-1, 1}).expand({size, size})}, 0)
                   .unsqueeze(0).contiguous();
  // A smile-sized edit of a face-like layout: mouth corners up 6 px, the rest in place.
  auto from = points_of({{70, 120}, {122, 120}, {96, 112}, {96, 130}, {70, 80}, {122, 80}, {96, 95}});
  auto to = points_of({{68, 114}, {124, 114}, {96, 111}, {96, 131}, {70, 80}, {122, 80}, {96, 95}});
  TpsOptions exact;
  exact.grid_step = 1;
  TpsOptions coarse;  // the default lattice
  ASSERT_GT(coarse.grid_step, 1);
  using torch::indexing::Slice;
  auto inner = [&](const torch::Tensor& t) { return t.index({Slice(), Slice(), Slice(2, size - 2), Slice(2, size - 2)}); };
  auto a = tps_warp_tensor(image, from, to, exact), b = tps_warp_tensor(image, from, to, coarse);
  const double error_px = (inner(a) - inner(b)).abs().max().item<double>() * size;
  const double moved_px = (inner(a) - inner(image)).abs().max().item<double>() * size;
  std::printf("lattice step %d: largest displacement %.2f px, largest error vs per pixel %.4f px\n", coarse.grid_step,
              moved_px, error_px);
  EXPECT_LT(error_px, 0.15);  // 0.12 px measured: next to a moved point, where the spline bends most
  EXPECT_GT(moved_px, 3);  // and the warp did move things
  // Identity stays exact on the lattice too.
  EXPECT_LE((tps_warp_tensor(image, from, from, coarse) - image).abs().max().item<double>(), 1e-5);
}

TEST(TpsWarp, DifferentiableInThePoints) {
  auto image = spot_image(64, 30, 30);
  auto from = points_of({{30, 30}, {10, 50}});
  auto to = points_of({{33, 31}, {10, 50}}).requires_grad_(true);
  auto loss = tps_warp_tensor(image, from, to).sum();
  auto grad = torch::autograd::grad({loss}, {to})[0];
  EXPECT_GT(grad.abs().sum().item<double>(), 0);
}

TEST(LandmarkBackbone, LatentsRegionsAndMeasures) {
  auto backbone = backbone_open("landmark");
  const BackboneInfo& info = backbone->info();
  EXPECT_EQ(info.kind, "landmark");
  EXPECT_EQ(info.latent_dim(), 136);
  EXPECT_FALSE(info.needs_crop);
  ASSERT_EQ(info.region_of_dim.size(), 136u);
  EXPECT_EQ(info.region_names[info.region_of_dim[2 * 48]], "mouth");
  EXPECT_EQ(info.region_names[info.region_of_dim[2 * 8 + 1]], "jaw");
  EXPECT_EQ(info.region_names[info.region_of_dim[2 * 19]], "brows");
  EXPECT_EQ(info.region_names[info.region_of_dim[2 * 40 + 1]], "eyes");
  EXPECT_EQ(info.region_names[info.region_of_dim[2 * 30]], "nose");
  ASSERT_EQ(info.attribute_regions.size(), info.attribute_names.size());

  BackboneFace face;
  auto placed = place(canonical_face(), 0.05, 64, 128, 100)[0];
  for (int p = 0; p < 68; ++p) face.landmarks[p] = {placed[p][0].item<double>(), placed[p][1].item<double>()};
  auto z = backbone->encode({face, face});
  ASSERT_EQ(z.size(), 2u * 136u);
  EXPECT_NEAR(z[2 * 30], face.landmarks[30].x / info.crop_size, 1e-7);
  EXPECT_NEAR(z[2 * 30 + 1], face.landmarks[30].y / info.crop_size, 1e-7);
  auto m = backbone->measure(z.data(), 2);
  auto expected = landmark_measures(place(canonical_face(), 0, 1, 0, 0))[0];
  for (size_t a = 0; a < info.attribute_names.size(); ++a) EXPECT_NEAR(m[a], expected[int64_t(a)].item<double>(), 1e-4);
}

TEST(LandmarkBackbone, DecodeOfTheSourceLatentsIsTheCrop) {
  auto backbone = backbone_open("landmark");
  const int s = backbone->info().crop_size;
  Image crop(s, s);
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x) {
      uint8_t* px = crop.pixel(x, y);
      px[0] = uint8_t((x * 7 + y * 3) % 256), px[1] = uint8_t((x * y) % 251), px[2] = uint8_t(y);
    }
  BackboneFace face;
  auto placed = place(canonical_face(), 0.0, 64, 128, 100)[0];
  for (int p = 0; p < 68; ++p) face.landmarks[p] = {placed[p][0].item<double>(), placed[p][1].item<double>()};
  auto z = backbone->encode({face});
  Image same = backbone->decode(z.data(), z.data(), crop.view());
  EXPECT_EQ(same.rgb, crop.rgb);
  auto edited = z;
  edited[2 * 48 + 1] -= 0.03f, edited[2 * 54 + 1] -= 0.03f;
  Image moved = backbone->decode(edited.data(), z.data(), crop.view());
  EXPECT_NE(moved.rgb, crop.rgb);
  EXPECT_THROW(backbone->decode(z.data(), z.data(), Image(s / 2, s / 2).view()), std::invalid_argument);
}

TEST(Backbone, OpenRefusesUnknownNames) {
  try {
    backbone_open("stylegan-please");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("stylegan-please"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace s3e::test
