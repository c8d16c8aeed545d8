// edit_losses.h — one training step's losses over an edit batch (edit_batch.h):
//   L = faith * classBalancedBCE(C_a(z'), target) + recon * MSE(z'_e, z_e) + reg * MSE(C(z') m_a, C(z) m_a)
//     + identity * (1 - cos(probe(z'_e), probe(z_e))) + cycle * MSE(T(z', a, -g), z)
// with m_a = 1 - |label correlation(a, .)|, zero on heads the classifier never trained. All latents are normalised
// (z = (x - mean) / std).
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "editor/editor_context.h"
#include "editor/editor_model.h"
#include "editor/editor_options.h"
#include "editor/latent_classifier.h"
#include "editor/edit_batch.h"

namespace s3e {

struct EditLosses {
  torch::Tensor total, faith, recon, reg, identity, cycle;
};

// `global_rows` and `global_positives` count the whole (all-rank) batch, for the class-balance weights.
EditLosses edit_losses(EditorModel& model, const EditorContext& ctx, const ClassifierBundle& classifier,
                       const EditorOptions& options, const EditBatch& batch, double global_rows,
                       double global_positives);

}  // namespace s3e
