#include "editor/editor_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>

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
  if (s.transform == "region_mlp") {
    s.expert_mode = o.expert_mode;
    // Refine: the unit embedding enters at the size of a normalised latent (|z_e| ~ sqrt(De): unit variance per dim),
    // not at 1 beside a latent of norm ~75 where the expert could barely see it.
    s.embedding_scale = s.expert_mode == "refine" ? std::sqrt(double(s.edit_dim)) : 1.0;
  }
  if (s.transform == "linear_masked" || s.transform == "linear_orthogonal") {
    // Their directions are made from these once (and saved as a buffer with the weights, which editor_load reads).
    s.embeddings = ctx.embeddings;
    s.expert_of_attribute = ctx.expert_of_attribute;
    s.mask_regions = o.mask_regions;
    s.mask_energy_share = o.mask_energy_share;
  }
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
      // Read back by editor_load; an editor.h5 without them is a scratch editor (saved before refine existed).
      w.set_attr_string("expert_mode", spec.expert_mode);
      w.set_attr_string("embedding_scale", fmt::format("{:.17g}", spec.embedding_scale));
      auto mask = model->group_mask.contiguous();
      w.write_array_f32("sparsity/group_mask", {mask.size(0), mask.size(1)}, mask.data_ptr<float>());
      std::vector<int32_t> h;
      for (auto& e : history) h.insert(h.end(), {int32_t(e.step), int32_t(e.groups_zero), int32_t(e.groups_shrinking)});
      w.write_array_i32("sparsity/history", {int64_t(history.size()), 3}, h.data());
      if (model->over_edit_share.defined()) {
        // The measured over-editing of every group (group_sparsifier.h) and the rate against the off-target share:
        // [groups, pruned, off-target (share >= 0.5), off-target and pruned].
        auto share = model->over_edit_share.contiguous().to(torch::kFloat);
        w.write_array_f32("sparsity/over_edit_share", {share.size(0), share.size(1)}, share.data_ptr<float>());
        auto off = share >= GroupSparsifier::k_off_target_share;
        const int64_t groups = share.numel(), pruned = (mask == 0).sum().item<int64_t>();
        const int64_t off_n = off.sum().item<int64_t>(), off_pruned = (off & (mask == 0)).sum().item<int64_t>();
        w.set_attr_int64s("sparsity_off_target", {groups, pruned, off_n, off_pruned});
        w.set_attr_string("sparsity_rate_over_off_target_share",
                          off_n > 0 ? fmt::format("{:.17g}", double(pruned) / double(off_n)) : std::string("nan"));
      }
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
  o.expert_mode = file.attribute_text("expert_mode");  // "" when saved before the key existed: scratch
  const bool has_mode = !o.expert_mode.empty();
  if (!has_mode) o.expert_mode = "scratch";
  if (o.expert_mode != "refine" && o.expert_mode != "scratch")
    throw DataError(fmt::format("{}: expert_mode '{}' is not refine or scratch", (dir / "editor.h5").string(), o.expert_mode));
  EditorSpec spec = editor_spec_make(o, b.ctx);
  if (spec.transform == "region_mlp" && has_mode)
    spec.embedding_scale = std::stod(file.attribute_text("embedding_scale"));
  b.model = EditorModel(spec);
  torch::serialize::InputArchive archive;
  // Module::load replaces each tensor with the archive's whatever its shape, so the shapes are checked after it
  // (an editor.h5 that names another mode or capacity than its weights would fail later, at the first edit).
  std::map<std::string, std::vector<int64_t>> shapes;
  for (auto& item : b.model->named_parameters()) shapes[item.key()] = item.value().sizes().vec();
  for (auto& item : b.model->named_buffers()) shapes[item.key()] = item.value().sizes().vec();
  try {
    archive.load_from((dir / "editor_weights.pt").string());
    b.model->load(archive);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: weights do not match editor.h5: {}", (dir / "editor_weights.pt").string(),
                                e.what_without_backtrace()));
  }
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    if (t.sizes().vec() != shapes[name])
      throw DataError(fmt::format("{}: {} has shape [{}] but editor.h5 (transform {}, expert_mode {}) needs [{}]",
                                  (dir / "editor_weights.pt").string(), name, fmt::join(t.sizes().vec(), ", "),
                                  spec.transform, spec.expert_mode, fmt::join(shapes[name], ", ")));
  };
  for (auto& item : b.model->named_parameters()) check(item.key(), item.value());
  for (auto& item : b.model->named_buffers()) check(item.key(), item.value());
  if (file.has_column("sparsity/over_edit_share")) {
    auto v = file.read_array_f32("sparsity/over_edit_share");
    b.model->over_edit_share = torch::from_blob(v.data(), file.column_shape("sparsity/over_edit_share")).clone();
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

torch::Tensor PrunedEditor::delta(const torch::Tensor& z, const torch::Tensor& e, const torch::Tensor& route,
                                  const torch::Tensor& g) const {
  if (refine && !g.defined()) throw std::logic_error("a refining pruned editor needs the strength g");
  auto gc = refine ? g.to(z.scalar_type()).unsqueeze(1) : torch::Tensor();
  auto x = refine ? torch::cat({z + gc * e * linear_scale, e * embedding_scale, gc}, 1) : torch::cat({z, e}, 1);
  auto out = torch::zeros_like(z);
  for (size_t k = 0; k < w1.size(); ++k) {
    auto rows = route.select(1, int64_t(k)).nonzero().squeeze(1);
    if (rows.numel() == 0 || w1[k].size(0) == 0) continue;
    auto hidden = torch::leaky_relu(torch::addmm(b1[k], x.index_select(0, rows), w1[k].t()), 0.2);
    out.index_add_(0, rows, torch::mm(hidden, w2[k].t()) * route.select(1, int64_t(k)).index_select(0, rows).unsqueeze(1));
  }
  return refine ? e * linear_scale + out : out;
}

PrunedEditor editor_prune(EditorModel& model) {
  if (model->spec().transform != "region_mlp") throw UsageError("only region_mlp editors have neuron groups to prune");
  torch::NoGradGuard no_grad;
  PrunedEditor p;
  p.refine = model->refines();
  p.linear_scale = model->spec().linear_scale;
  p.embedding_scale = model->spec().embedding_scale;
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
  // The mode travels with the experts: [refine (0/1), linear scale s, embedding scale c].
  archive.write("mode", torch::tensor({p.refine ? 1.0 : 0.0, p.linear_scale, p.embedding_scale}, torch::kDouble));
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
