#include "editor/edit_step.h"

#include "core/rng.h"

namespace s3e {

EditBatch edit_batch_make(const EditorContext& ctx, const ClassifierBundle& classifier, const EditorOptions& o,
                          const torch::Tensor& z, uint64_t seed, int64_t first_position) {
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
    attribute[i] = ctx.train_attributes[rng.below(n_train)];
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

torch::Tensor editor_apply(EditorModel& model, const EditorContext& ctx, const torch::Tensor& z,
                           const torch::Tensor& attribute, const torch::Tensor& g) {
  auto ze = z.index_select(1, ctx.edit_index);
  auto edited = model->forward(ze, ctx.embeddings.index_select(0, attribute), g, ctx.routing.index_select(0, attribute));
  return z.index_copy(1, ctx.edit_index, edited);
}

EditLosses edit_losses(EditorModel& model, const EditorContext& ctx, const ClassifierBundle& classifier,
                       const EditorOptions& o, const EditBatch& b, double global_rows, double global_positives) {
  EditLosses l;
  auto e = ctx.embeddings.index_select(0, b.attribute);
  auto route = ctx.routing.index_select(0, b.attribute);
  auto ze = b.z_in.index_select(1, ctx.edit_index);
  auto ze_edit = model->forward(ze, e, b.g, route);
  auto z_edit = b.z_in.index_copy(1, ctx.edit_index, ze_edit);
  torch::Tensor logits0 = b.logits_in;
  if (!logits0.defined()) {
    torch::NoGradGuard no_grad;
    logits0 = classifier.net->forward(b.z_in);
  }
  auto logits1 = classifier.net->forward(z_edit);
  // Class-balanced BCE (Latent Transformer): weights rows/positives and rows/negatives over the global batch.
  double t_coeff = global_rows / (global_positives + 1e-8), f_coeff = global_rows / (global_rows - global_positives + 1e-8);
  auto weight = b.target * t_coeff + (1 - b.target) * f_coeff;
  auto edited_logit = logits1.gather(1, b.attribute.unsqueeze(1)).squeeze(1);
  l.faith = (torch::binary_cross_entropy_with_logits(edited_logit, b.target, {}, {}, at::Reduction::None) * weight).mean();
  l.recon = torch::mse_loss(ze_edit, ze);
  auto mask = 1 - ctx.label_correlation.index_select(0, b.attribute).abs();
  l.reg = torch::mse_loss(logits1 * mask, logits0 * mask);
  auto zero = torch::zeros({}, ze.options());
  l.identity = o.w_identity > 0
                   ? (1 - torch::cosine_similarity(identity_probe(ctx, ze_edit), identity_probe(ctx, ze), 1)).mean()
                   : zero;
  l.cycle = o.w_cycle > 0 ? torch::mse_loss(model->forward(ze_edit, e, -b.g, route), ze) : zero;
  l.total = o.w_faith * l.faith + o.w_recon * l.recon + o.w_reg * l.reg + o.w_identity * l.identity +
            o.w_cycle * l.cycle;
  return l;
}

}  // namespace s3e
