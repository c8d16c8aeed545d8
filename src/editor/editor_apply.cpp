#include "editor/editor_apply.h"

namespace s3e {

torch::Tensor editor_apply(EditorModel& model, const EditorContext& ctx, const torch::Tensor& z,
                           const torch::Tensor& attribute, const torch::Tensor& g) {
  auto ze = z.index_select(1, ctx.edit_index);
  auto edited = model->forward(ze, ctx.embeddings.index_select(0, attribute), g, ctx.routing.index_select(0, attribute));
  return z.index_copy(1, ctx.edit_index, edited);
}

}  // namespace s3e
