#include "backbone/backbone.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <numeric>

#include "backbone/landmark_backbone.h"
#include "backbone/torchscript_backbone.h"
#include "core/errors.h"

namespace s3e {

int64_t BackboneInfo::latent_dim() const {
  return std::accumulate(latent_shape.begin(), latent_shape.end(), int64_t(1), std::multiplies<int64_t>());
}

std::vector<float> Backbone::measure(const float*, int64_t) const {
  throw UsageError(fmt::format("backbone '{}' has no attribute measures", info().name));
}

at::Tensor Backbone::measure_tensor(const at::Tensor&) const {
  throw UsageError(fmt::format("backbone '{}' has no attribute measures", info().name));
}

std::unique_ptr<Backbone> backbone_open(const std::string& spec, const BackboneOpenOptions& options) {
  if (spec == "landmark") return landmark_backbone_create(options.landmark_crop_size);
  if (spec.empty()) throw UsageError("backbone: empty name (use 'landmark' or a TorchScript backbone folder)");
  std::error_code ec;
  if (!std::filesystem::is_directory(spec, ec))
    throw UsageError(fmt::format("backbone '{}': neither 'landmark' (the built-in backbone) nor a folder holding a "
                                 "TorchScript backbone (backbone.json, encoder.pt, generator.pt; docs/backbones.md)",
                                 spec));
  return torchscript_backbone_open(spec, options);
}

}  // namespace s3e
