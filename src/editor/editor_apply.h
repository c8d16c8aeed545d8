// editor_apply.h — applies a trained editor to whole normalised latents: z' with only the editable dims changed.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "editor/editor_context.h"
#include "editor/editor_model.h"
#include "editor/editor_options.h"
#include "editor/latent_classifier.h"

namespace s3e {

// Applies the editor to whole latents: z' with only the editable dims changed.
torch::Tensor editor_apply(EditorModel& model, const EditorContext& ctx, const torch::Tensor& z,
                           const torch::Tensor& attribute, const torch::Tensor& g);

}  // namespace s3e
