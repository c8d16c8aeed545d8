// backbone.h — what an editor edits: the latent space of a face backbone. A backbone encodes aligned face crops
// (and their landmarks) into latents, decodes edited latents back into an edited crop, says which latent dims an
// editor may change and which facial region each dim belongs to, and optionally measures attributes from latents
// (differentiably, for losses). Two kinds (docs/backbones.md):
//   landmark     built in, no weights: latent = the 68 landmarks in the aligned crop, normalised to [0,1] (136
//                numbers); measures are geometric attributes in fractions of the inter-ocular distance; decode is a
//                thin-plate-spline warp of the source crop (backbone/landmark_backbone.h).
//   torchscript  a folder the user names with backbone.json, encoder.pt, generator.pt and optional classifier.pt
//                (StyleGAN2 + e4e/pSp, diffusion autoencoders, ... exported to TorchScript; backbone/torchscript_backbone.h).
//
// Usage:
//   auto backbone = backbone_open("landmark");              // or backbone_open("/models/ffhq_e4e")
//   std::vector<float> z = backbone->encode(faces);         // [faces, latent_dim]
//   Image edited = backbone->decode(z_edited, z_source, crop);
// Thread-compatible: one backbone per thread. No torch in this header (measure_tensor() takes at::Tensor, declared
// only; callers that use it include torch themselves).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/image.h"
#include "face/face_types.h"

namespace at {
class Tensor;
}

namespace s3e {

// One face to encode.
struct BackboneFace {
  ImageView crop;           // the aligned (FFHQ-quad) crop, info().crop_size square; read only if info().needs_crop
  FaceLandmarks landmarks;  // the 68 landmarks in crop pixels (the landmark backbone's input)
};

struct BackboneInfo {
  std::string name;                            // "landmark", or backbone.json's "name"
  std::string kind;                            // "landmark" | "torchscript"
  std::string fingerprint;                     // identifies code and weights ("landmark-v1", SHA-256 of the files)
  std::vector<int64_t> latent_shape;           // {136}, {18, 512}, ...
  std::vector<int64_t> editable_dims;          // flat latent indices an editor may change, ascending
  int crop_size = 256;                         // side of the aligned crop encode() reads and decode() returns
  bool needs_crop = true;                      // false: encode() reads only the landmarks (ingest skips the crop)
  std::string alignment = "ffhq";              // how crops are aligned (face/face_align.h)
  std::vector<std::string> attribute_names;    // measure() columns (landmark) or classifier outputs (torchscript)
  std::vector<std::string> region_names;       // facial regions (jaw, brows, nose, eyes, mouth) or the backbone's own
  std::vector<int32_t> region_of_dim;          // [latent_dim]: index into region_names, -1 = none; empty: no map
  std::vector<std::vector<int32_t>> attribute_regions;  // [A]: target regions of each attribute (may be empty)

  int64_t latent_dim() const;
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  virtual const BackboneInfo& info() const = 0;

  // Latents of each face, row-major [faces.size(), latent_dim].
  virtual std::vector<float> encode(const std::vector<BackboneFace>& faces) const = 0;
  // The edited crop of one face from its edited and source latents (latent_dim floats each) and its source crop
  // (crop_size square). decode(z, z, crop) returns the crop unchanged (landmark backbone: exactly).
  virtual Image decode(const float* edited, const float* source, ImageView source_crop) const = 0;

  // Attribute measures: latents [rows, latent_dim] -> [rows, A] in info().attribute_names order.
  virtual bool has_measures() const { return false; }
  virtual std::vector<float> measure(const float* latents, int64_t rows) const;
  // The same on a torch tensor [B, latent_dim] -> [B, A], differentiable (autograd).
  virtual at::Tensor measure_tensor(const at::Tensor& latents) const;
};

struct BackboneOpenOptions {
  std::string device = "cpu";      // torch device of TorchScript modules
  int landmark_crop_size = 256;    // aligned crop side of the landmark backbone
};

// "landmark" (the built-in backbone) or a folder holding a TorchScript backbone; UsageError/DataError naming the
// path and what is wrong otherwise.
std::unique_ptr<Backbone> backbone_open(const std::string& spec, const BackboneOpenOptions& options = {});

}  // namespace s3e
