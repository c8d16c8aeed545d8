#include "editor/editor_io.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "core/file_util.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"

namespace fs = std::filesystem;

namespace s3e {

EditorSpec editor_spec_make(const EditorOptions& o, const EditorContext& ctx) {
  EditorSpec s;
  s.transform = o.transform;
  s.edit_dim = ctx.edit_dim();
  s.layer_channels = ctx.latent_shape.back();
  s.num_experts = ctx.num_experts();
  s.hidden_total = o.hidden_total;
  s.linear_scale = ctx.linear_scale;
  s.regions = ctx.regions;
  if (s.transform == "lt_linear" && s.num_experts != int(ctx.train_attributes.size()))
    throw UsageError("editor.transform = lt_linear needs editor.clusters = 0 (one transform per attribute)");
  return s;
}

void editor_save(const fs::path& dir, EditorModel& model, const EditorContext& ctx,
                 const std::vector<SparsityEvent>& history, const std::string& config_ini) {
  file_ensure_writable_dir(dir);
  torch::serialize::OutputArchive archive;
  model->save(archive);
  fs::path tmp = file_temp_path(dir / "editor_weights.pt");
  archive.save_to(tmp.string());
  file_commit(tmp, dir / "editor_weights.pt");
  const auto& spec = model->spec();
  editor_context_save(ctx, dir / "editor.h5", config_ini, [&](RowFileWriter& w) {
    w.set_attr_string("transform", spec.transform);
    w.set_attr_int64s("hidden_total", {spec.hidden_total});
    if (spec.transform == "region_mlp") {
      auto mask = model->group_mask.contiguous();
      w.write_array_f32("sparsity/group_mask", {mask.size(0), mask.size(1)}, mask.data_ptr<float>());
      std::vector<int32_t> h;
      for (auto& e : history) h.insert(h.end(), {int32_t(e.step), int32_t(e.groups_zero), int32_t(e.groups_shrinking)});
      w.write_array_i32("sparsity/history", {int64_t(history.size()), 3}, h.data());
    }
  });
}

EditorBundle editor_load(const fs::path& dir) {
  EditorBundle b;
  for (const char* f : {"editor.h5", "editor_weights.pt"})
    if (!fs::exists(dir / f)) throw DataError(fmt::format("{}: missing; is {} a trained editor?", (dir / f).string(), dir.string()));
  b.ctx = editor_context_load(dir / "editor.h5");
  LatentStore file(dir / "editor.h5", "s3editor.editor");
  EditorOptions o;
  o.transform = file.attribute_text("transform");
  o.hidden_total = h5_attr_read_int64s(file.file(), "hidden_total", (dir / "editor.h5").string())[0];
  o.clusters = b.ctx.num_experts();
  b.model = EditorModel(editor_spec_make(o, b.ctx));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from((dir / "editor_weights.pt").string());
    b.model->load(archive);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: weights do not match editor.h5: {}", (dir / "editor_weights.pt").string(),
                                e.what_without_backtrace()));
  }
  if (file.has_column("sparsity/history")) {
    auto h = file.read_array_i32("sparsity/history");
    for (size_t i = 0; i + 2 < h.size(); i += 3) b.history.push_back({h[i], h[i + 1], h[i + 2]});
  }
  return b;
}

int64_t PrunedEditor::parameter_count() const {
  int64_t n = 0;
  for (size_t k = 0; k < w1.size(); ++k) n += w1[k].numel() + b1[k].numel() + w2[k].numel();
  return n;
}

torch::Tensor PrunedEditor::delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route) const {
  auto out = torch::zeros_like(z);
  for (size_t k = 0; k < w1.size(); ++k) {
    auto rows = route.select(1, int64_t(k)).nonzero().squeeze(1);
    if (rows.numel() == 0 || w1[k].size(0) == 0) continue;
    auto hidden = torch::leaky_relu(
        torch::addmm(b1[k], torch::cat({z.index_select(0, rows), e.index_select(0, rows)}, 1), w1[k].t()), 0.2);
    out.index_add_(0, rows, torch::mm(hidden, w2[k].t()) * route.select(1, int64_t(k)).index_select(0, rows).unsqueeze(1));
  }
  return out;
}

PrunedEditor editor_prune(EditorModel& model) {
  if (model->spec().transform != "region_mlp") throw UsageError("only region_mlp editors have neuron groups to prune");
  torch::NoGradGuard no_grad;
  PrunedEditor p;
  for (int k = 0; k < model->spec().num_experts; ++k) {
    auto live = model->group_mask[k].nonzero().squeeze(1);
    p.w1.push_back(model->w1[k].index_select(0, live).clone());
    p.b1.push_back(model->b1[k].index_select(0, live).clone());
    p.w2.push_back((model->w2[k] * model->w2_mask).index_select(1, live).clone());
  }
  return p;
}

void pruned_save(const PrunedEditor& p, const fs::path& path) {
  torch::serialize::OutputArchive archive;
  for (size_t k = 0; k < p.w1.size(); ++k) {
    archive.write(fmt::format("expert{}_w1", k), p.w1[k]);
    archive.write(fmt::format("expert{}_b1", k), p.b1[k]);
    archive.write(fmt::format("expert{}_w2", k), p.w2[k]);
  }
  fs::path tmp = file_temp_path(path);
  archive.save_to(tmp.string());
  file_commit(tmp, path);
}

}  // namespace s3e
