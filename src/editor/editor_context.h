// editor_context.h — what the trainer derives before training, from the frozen classifier and the training data
// only (never from a synthetic world's ground truth): the editable dims, attribute embeddings e_a (normalised mean
// classifier gradient), K-means clusters of the training attributes, routing weights of every attribute (held-out
// ones by nearest centroid), the region map, the label correlation (for L_reg's mask), the linear edit scale and
// the identity probe. Saved with the editor (editor.h5, docs/formats.md). Attributes the classifier never trained
// (classifier.ignore_attributes) take their embedding from a second classifier (editor.embedding_classifier).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "editor/editor_options.h"
#include "editor/kmeans.h"
#include "editor/latent_classifier.h"
#include "editor/region_map.h"

namespace s3e {

class LatentStore;

struct EditorContext {
  std::vector<int64_t> latent_shape;
  std::vector<int> edit_layers;
  torch::Tensor edit_index;          // [De] long: positions of the editable dims in the flat latent
  std::vector<std::string> attribute_names;
  std::vector<int> train_attributes, heldout_attributes;
  torch::Tensor embeddings;          // [A, De] unit directions in normalised latent space
  KMeansResult clusters;             // over the training attributes' cluster features
  std::vector<int> expert_of_attribute;  // [A] (held-out attributes: nearest centroid)
  torch::Tensor routing;             // [A, K] routing weights
  RegionMap regions;
  torch::Tensor label_correlation;   // [A, A]
  torch::Tensor identity_basis;      // [A, De] orthonormal basis of the embeddings (identity probe projects it out)
  double linear_scale = 1.0;         // latent step of one unit of strength along e_a
  // The latent normalisation z = (x - mean) / std the editor works in: the classifier's (its training rows'
  // statistics). Stored with the editor so that it applies without the classifier; undefined in editors saved
  // before it was stored (editor_runtime.h then needs the classifier).
  torch::Tensor norm_mean, norm_std;  // [D]
  std::string classifier_sha256;      // of the classifier file it was trained with ("" if not known)
  std::string classifier_path;        // where that file was at training time (a hint; the hash is what counts)
  std::string config_ini;             // the trainer's effective config (editor.h5's config_ini; read on load)
  // [A] 1 = the classifier trained attribute a; 0 = it ignored a (classifier.ignore_attributes): its head is noise,
  // so L_reg leaves that logit out. Empty = every attribute (hand-made contexts; editors saved before it: all 1).
  std::vector<uint8_t> classifier_trained;
  // Attributes whose embedding came from a second classifier (editor.embedding_classifier), and that file.
  std::vector<int> embedding_attributes;
  std::string embedding_classifier_sha256, embedding_classifier_path;
  bool classifier_trains(int64_t a) const { return classifier_trained.empty() || classifier_trained[size_t(a)] != 0; }
  int num_experts() const { return clusters.k; }
  int64_t edit_dim() const { return edit_index.size(0); }
};

// Builds the context from the classifier and rows `rows` of the store. `embedding_classifier` (editor.embedding_
// classifier, loaded) gives the embeddings of options.embedding_attributes: its logit's gradient w.r.t. the raw
// latent, mapped into `classifier`'s normalised space. Refuses (UsageError) an attribute `classifier` did not train
// that is trained on or has no embedding from the second classifier, and an embedding attribute the second did not
// train; DataError for a second classifier of another shape than the store.
EditorContext editor_context_build(const ClassifierBundle& classifier, const LatentStore& store,
                                   const std::vector<int64_t>& rows, const EditorOptions& options, uint64_t seed,
                                   const ClassifierBundle* embedding_classifier = nullptr);

// Routing weights for one attribute embedding (hard: one-hot nearest centroid; soft: softmax(-distance / T)).
torch::Tensor routing_weights(const KMeansResult& clusters, const torch::Tensor& feature, const std::string& routing,
                              double temperature);
// The cluster feature of embeddings [n, De] (energy: squared; direction: as is).
torch::Tensor cluster_feature(const torch::Tensor& embeddings, const std::string& kind);

// Identity probe: the part of z [B, De] orthogonal to every attribute embedding.
torch::Tensor identity_probe(const EditorContext& ctx, const torch::Tensor& z);

class RowFileWriter;
// Writes the context to `path` (editor.h5); `extra` adds more (masks, sparsity history) before the file is committed.
void editor_context_save(const EditorContext& ctx, const std::filesystem::path& path, const std::string& config_ini,
                         const std::function<void(RowFileWriter&)>& extra = {});
EditorContext editor_context_load(const std::filesystem::path& path);

}  // namespace s3e
