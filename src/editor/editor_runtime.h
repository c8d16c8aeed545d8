// editor_runtime.h — a trained editor ready to apply: loads an editor folder once (editor.h5 + editor_weights.pt,
// docs/formats.md "Editor") and edits raw latents, without the training maths and without the classifier.
//
// Usage:
//   EditorRuntime editor(dir);                                  // or (dir, classifier.pt) for editors saved before
//                                                               // editor.h5 stored the normalisation
//   auto steps = editor.parse_recipe({"smile=1.5", "age=-0.5"});  // UsageError naming an unknown attribute
//   torch::Tensor x_edit = editor.apply_recipe(x, steps);       // x [B, D] raw latents -> [B, D]
//   torch::Tensor y = editor.apply(x, attribute, g);            // one edit per row (attribute [B] long, g [B])
//
// Guarantees: x' = x + std * (z' - z) with z = (x - mean) / std, so latent dims the editor does not edit are
// bit-identical to the input (no denormalisation round trip). Rows are independent: a row's output does not depend
// on the other rows of its batch (up to the BLAS's summation order). Inference only (no autograd); apply() is
// logically const and may be called from one thread at a time.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "editor/editor_io.h"

namespace s3e {

// One edit: attribute index and signed strength (g > 0 adds the attribute, g < 0 removes it).
struct EditStep {
  int attribute = 0;
  double strength = 0;
};

class EditorRuntime {
 public:
  // Loads `dir`. The latent normalisation comes from editor.h5; an editor saved before editor.h5 stored it needs
  // `classifier`, the classifier it was trained with (when editor.h5 records the classifier's SHA-256, a given
  // classifier must match it). Throws DataError naming the file on anything missing or inconsistent.
  explicit EditorRuntime(const std::filesystem::path& dir, const std::filesystem::path& classifier = {});

  const std::filesystem::path& dir() const { return dir_; }
  const EditorContext& context() const { return bundle_.ctx; }
  const EditorSpec& spec() const { return bundle_.model->spec(); }
  const std::vector<std::string>& attribute_names() const { return bundle_.ctx.attribute_names; }
  int64_t latent_dim() const { return mean_.size(0); }
  // SHA-256 of the classifier the editor was trained with ("" when the editor did not record it and none was given).
  const std::string& classifier_sha256() const { return classifier_sha256_; }
  // The editor's sparse masks [K, H] (1 = neuron alive); undefined for editors without neuron groups.
  torch::Tensor group_mask() const;

  // Index of an attribute by name; UsageError listing the editor's attributes when it has no such attribute.
  int attribute_index(const std::string& name) const;
  // "NAME=STRENGTH" texts -> steps, in order; UsageError naming a malformed text or an unknown attribute.
  std::vector<EditStep> parse_recipe(const std::vector<std::string>& texts) const;

  // One edit per row: attribute [B] long, g [B] signed strengths.
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& attribute, const torch::Tensor& g) const;
  // Every row through the steps in order, each applied to the previous step's output (as Latent Transformer chains
  // its transforms).
  torch::Tensor apply_recipe(const torch::Tensor& x, const std::vector<EditStep>& steps) const;

 private:
  torch::Tensor edit_normalised(const torch::Tensor& z, const torch::Tensor& attribute, const torch::Tensor& g) const;
  std::filesystem::path dir_;
  mutable EditorBundle bundle_;  // the model's forward is not const in libtorch; its weights are frozen here
  torch::Tensor mean_, std_;
  std::string classifier_sha256_;
};

}  // namespace s3e
