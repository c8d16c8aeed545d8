// landmark_backbone.h — the built-in backbone (docs/backbones.md): latent = the 68 landmarks of a face in its
// aligned crop, divided by the crop side (so in [0,1]), x then y per point: 136 numbers. Its region map is exact
// (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67); its attributes are the geometric measures of
// backbone/landmark_measures.h; decode warps the source crop with a thin-plate spline from the source to the
// edited landmarks (backbone/tps_warp.h), crop border pinned. It needs no weights and no crop to encode.
#pragma once
#include <memory>

#include "backbone/backbone.h"

namespace s3e {

inline constexpr const char* k_landmark_backbone_fingerprint = "landmark-v1";

std::unique_ptr<Backbone> landmark_backbone_create(int crop_size = 256);

}  // namespace s3e
