// editor_io.h — a trained editor on disk (docs/formats.md, "Editor"):
//   <dir>/editor.h5          context (clusters, centroids, routing, region map, embeddings, label correlation),
//                            sparse masks per expert x group, sparsity history, editor spec as attributes
//   <dir>/editor_weights.pt  the model's parameters and buffers (torch::save archive)
//   <dir>/editor_pruned.pt   optional: the region_mlp experts with pruned neurons physically removed
// and the compact pruned form used for inference.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "editor/editor_context.h"
#include "editor/editor_model.h"
#include "editor/editor_options.h"
#include "editor/group_sparsifier.h"

namespace s3e {

// The model spec that options + context give (transform, experts, capacity, regions, scales).
EditorSpec editor_spec_make(const EditorOptions& options, const EditorContext& ctx);

struct EditorBundle {
  EditorContext ctx;
  EditorModel model{nullptr};
  std::vector<SparsityEvent> history;
};

void editor_save(const std::filesystem::path& dir, EditorModel& model, const EditorContext& ctx,
                 const std::vector<SparsityEvent>& history, const std::string& config_ini);
// Throws DataError naming the file when something is missing or does not match.
EditorBundle editor_load(const std::filesystem::path& dir);

// region_mlp experts with only the live neurons: same outputs as the masked model, fewer parameters.
struct PrunedEditor {
  std::vector<torch::Tensor> w1, b1, w2;  // per expert: [h_k, W1 width], [h_k], [De, h_k] (W2 already block-masked)
  bool refine = false;                    // refine mode: delta = s e + M([z + g s e; c e; g]) (needs g)
  double linear_scale = 1.0, embedding_scale = 1.0;
  int64_t parameter_count() const;
  // The edit per unit strength, as EditorModelImpl::delta.
  torch::Tensor delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route,
                      const torch::Tensor& g = {}) const;
};
PrunedEditor editor_prune(EditorModel& model);
void pruned_save(const PrunedEditor& pruned, const std::filesystem::path& path);

}  // namespace s3e
