#include "backbone/landmark_backbone.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "backbone/landmark_attributes.h"
#include "backbone/tps_warp.h"
#include "core/errors.h"

namespace s3e {
namespace {

constexpr int k_points = 68;

class LandmarkBackbone final : public Backbone {
 public:
  explicit LandmarkBackbone(int crop_size) {
    if (crop_size < 16) throw UsageError(fmt::format("landmark backbone: crop size {} is below 16", crop_size));
    info_.name = "landmark";
    info_.kind = "landmark";
    info_.fingerprint = k_landmark_backbone_fingerprint;
    info_.latent_shape = {2 * k_points};
    info_.crop_size = crop_size;
    info_.needs_crop = false;
    for (int64_t d = 0; d < 2 * k_points; ++d) info_.editable_dims.push_back(d);
    for (auto* name : k_face_region_names) info_.region_names.push_back(name);
    for (int p = 0; p < k_points; ++p)
      for (int c = 0; c < 2; ++c) info_.region_of_dim.push_back(static_cast<int32_t>(face_region_of_point(p)));
    for (auto& a : landmark_attributes()) {
      info_.attribute_names.push_back(a.name);
      std::vector<int32_t> regions;
      for (auto r : a.regions) regions.push_back(static_cast<int32_t>(r));
      info_.attribute_regions.push_back(regions);
    }
  }

  const BackboneInfo& info() const override { return info_; }

  std::vector<float> encode(const std::vector<BackboneFace>& faces) const override {
    std::vector<float> out;
    out.reserve(faces.size() * 2 * k_points);
    const double s = info_.crop_size;
    for (auto& f : faces)
      for (auto& p : f.landmarks) out.push_back(float(p.x / s)), out.push_back(float(p.y / s));
    return out;
  }

  Image decode(const float* edited, const float* source, ImageView crop) const override {
    if (crop.width != info_.crop_size || crop.height != info_.crop_size)
      throw std::invalid_argument(fmt::format("landmark backbone: decode needs a {0}x{0} crop, got {1}x{2}",
                                              info_.crop_size, crop.width, crop.height));
    std::vector<FacePoint> from(k_points), to(k_points);
    const double s = info_.crop_size;
    for (int p = 0; p < k_points; ++p) {
      from[p] = {source[2 * p] * s, source[2 * p + 1] * s};
      to[p] = {edited[2 * p] * s, edited[2 * p + 1] * s};
    }
    return tps_warp(crop, from, to);
  }

  bool has_measures() const override { return true; }

  std::vector<float> measure(const float* latents, int64_t rows) const override {
    torch::NoGradGuard no_grad;
    auto z = torch::from_blob(const_cast<float*>(latents), {rows, 2 * k_points}, torch::kFloat32);
    auto m = measure_tensor(z).contiguous();
    return std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
  }

  at::Tensor measure_tensor(const at::Tensor& latents) const override {
    return landmark_measures(latents.reshape({-1, k_points, 2}));
  }

 private:
  BackboneInfo info_;
};

}  // namespace

std::unique_ptr<Backbone> landmark_backbone_create(int crop_size) { return std::make_unique<LandmarkBackbone>(crop_size); }

}  // namespace s3e
