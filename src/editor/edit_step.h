// edit_step.h — one training step's maths, shared by the trainer, the tests and the python3-torch reference:
// making a batch of edits (supervised flips of Latent Transformer, plus self-training pseudo-edits with random
// signed strengths on possibly pseudo-edited inputs) and the losses:
//   L = faith * classBalancedBCE(C_a(z'), target) + recon * MSE(z'_e, z_e) + reg * MSE(C(z') m_a, C(z) m_a)
//     + identity * (1 - cos(probe(z'_e), probe(z_e))) + cycle * MSE(T(z', a, -g), z)
// with m_a = 1 - |label correlation(a, .)|. All latents are normalised (z = (x - mean) / std).
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "editor/editor_context.h"
#include "editor/editor_model.h"
#include "editor/editor_options.h"
#include "editor/latent_classifier.h"

namespace s3e {

struct EditBatch {
  torch::Tensor z_in;       // [B, D] inputs (self-training rows may be pseudo-edited already)
  torch::Tensor attribute;  // [B] long
  torch::Tensor g;          // [B] signed strength
  torch::Tensor target;     // [B] 0/1 target of the edited attribute
  torch::Tensor self_mask;  // [B] bool: pseudo-edit rows
  torch::Tensor logits_in;  // [B, A] classifier logits of z_in (computed once, reused by the losses)
};

// Builds the edits for normalised latents z [B, D]. Random choices come from s3e::Rng keyed by the row's global
// position (`first_position + i`), so a batch split over ranks makes the same choices as on one rank.
EditBatch edit_batch_make(const EditorContext& ctx, const ClassifierBundle& classifier, const EditorOptions& options,
                          const torch::Tensor& z, uint64_t seed, int64_t first_position);

struct EditLosses {
  torch::Tensor total, faith, recon, reg, identity, cycle;
};

// Applies the editor to whole latents: z' with only the editable dims changed.
torch::Tensor editor_apply(EditorModel& model, const EditorContext& ctx, const torch::Tensor& z,
                           const torch::Tensor& attribute, const torch::Tensor& g);

// `global_rows` and `global_positives` count the whole (all-rank) batch, for the class-balance weights.
EditLosses edit_losses(EditorModel& model, const EditorContext& ctx, const ClassifierBundle& classifier,
                       const EditorOptions& options, const EditBatch& batch, double global_rows,
                       double global_positives);

}  // namespace s3e
