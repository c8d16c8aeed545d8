#include "editor/edit_batch.h"

#include "core/rng.h"

namespace s3e {

EditBatch edit_batch_make(const EditorContext& ctx, const ClassifierBundle& classifier, const EditorOptions& o,
                          const torch::Tensor& z, uint64_t seed, int64_t first_position, int64_t only_attribute) {
  torch::NoGradGuard no_grad;
  const int64_t B = z.size(0);
  const int n_train = int(ctx.train_attributes.size());
  EditBatch b;
  b.z_in = z.clone();
  std::vector<int64_t> attribute(B);
  std::vector<float> g(B, 0.f), target(B, 0.f);
  std::vector<uint8_t> self(B, 0);
  std::vector<float> input_g(B, 0.f);
  std::vector<int64_t> input_attr(B, 0);
  for (int64_t i = 0; i < B; ++i) {
    Rng rng(seed, rng_stream_tag("edit"), uint64_t(first_position + i));
    attribute[i] = ctx.train_attributes[rng.below(n_train)];  // drawn either way: the stream stays the same
    if (only_attribute >= 0) attribute[i] = only_attribute;
    if (o.self_training && rng.uniform() < o.self_share) {
      self[i] = 1;
      double magnitude = o.g_min + (o.g_max - o.g_min) * rng.uniform();
      g[i] = float(rng.uniform() < 0.5 ? -magnitude : magnitude);
      target[i] = g[i] > 0 ? 1.f : 0.f;
      if (rng.uniform() < o.input_edit_prob) {
        input_attr[i] = ctx.train_attributes[rng.below(n_train)];
        input_g[i] = float(o.input_edit_max * (2 * rng.uniform() - 1));
      }
    }
  }
  b.attribute = torch::tensor(attribute, torch::kLong);
  b.self_mask = torch::tensor(std::vector<int64_t>(self.begin(), self.end())).to(torch::kBool);
  // Pseudo-edited inputs: the linear classifier-direction edit, so the editor also sees edited faces as inputs.
  auto ig = torch::tensor(input_g);
  if (ig.abs().sum().item<float>() > 0) {
    auto shift = ctx.embeddings.index_select(0, torch::tensor(input_attr, torch::kLong)) *
                 (ig * float(ctx.linear_scale)).unsqueeze(1);
    b.z_in.index_add_(1, ctx.edit_index, shift);
  }
  // Supervised rows (Latent Transformer): flip the attribute, coefficient 1 - p to add it, -p to remove it.
  b.logits_in = classifier.net->forward(b.z_in);
  auto p = torch::sigmoid(b.logits_in).gather(1, b.attribute.unsqueeze(1)).squeeze(1);
  auto present = p > 0.5;
  auto sup_g = torch::where(present, -p, 1 - p);
  auto sup_target = torch::where(present, torch::zeros_like(p), torch::ones_like(p));
  b.g = torch::where(b.self_mask, torch::tensor(g), sup_g);
  b.target = torch::where(b.self_mask, torch::tensor(target), sup_target);
  return b;
}

}  // namespace s3e
