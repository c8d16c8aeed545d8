#include "editor/edit_losses.h"

#include <algorithm>

#include "editor/editor_apply.h"

namespace s3e {

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
  // A head the classifier never trained (classifier.ignore_attributes) is noise: keeping its logit still would tie the
  // edit to a random function of the latent, so L_reg leaves those columns out.
  if (std::find(ctx.classifier_trained.begin(), ctx.classifier_trained.end(), uint8_t(0)) != ctx.classifier_trained.end()) {
    std::vector<float> keep(ctx.classifier_trained.begin(), ctx.classifier_trained.end());
    mask = mask * torch::tensor(keep, mask.options());
  }
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
