// edit_batch.h — the edits of one training step: supervised flips of Latent Transformer plus self-training
// pseudo-edits with random signed strengths on possibly pseudo-edited inputs, on normalised latents
// (z = (x - mean) / std). Shared by the trainer, the tests and the python3-torch reference.
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
// `only_attribute` >= 0: every row edits that attribute (a per-attribute training phase) instead of drawing one.
EditBatch edit_batch_make(const EditorContext& ctx, const ClassifierBundle& classifier, const EditorOptions& options,
                          const torch::Tensor& z, uint64_t seed, int64_t first_position, int64_t only_attribute = -1);

}  // namespace s3e
