#include "pipeline/edit_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/file_util.h"
#include "editor/editor_runtime.h"
#include "pipeline/edit_provenance.h"
#include "pipeline/item_run.h"
#include "pipeline/stage_settings.h"
#include "store/item_index.h"
#include "store/latent_store.h"
#include "store/output_fingerprint.h"
#include "store/row_file_writer.h"
#include "store/row_split.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

constexpr const char* k_rows_dir = "edited_rows";
constexpr const char* k_col_source_row = "edit/source_row";
constexpr const char* k_col_attribute = "edit/attribute";
constexpr const char* k_col_strength = "edit/strength";

std::vector<double> parse_strengths(const Config& cfg) {
  const std::string list = cfg.get_text("edit.strengths");
  if (list.empty()) return {cfg.get_real("edit.strength")};
  std::vector<double> out;
  for (auto& text : cfg.get_text_list("edit.strengths")) {
    size_t used = 0;
    double s = 0;
    try {
      s = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || !std::isfinite(s) || s <= 0)
      throw UsageError(fmt::format("edit.strengths = '{}' (from {}): '{}' is not a positive number", list,
                                   cfg.source_of("edit.strengths"), text));
    out.push_back(s);
  }
  return out;
}

// The held-out share: the trainer's (from editor.h5's config), so that "heldout" means the rows the editor never
// trained on. A different share given explicitly would move rows across the split: refused.
double validation_share(const Config& cfg, const EditorRuntime& editor) {
  const double given = cfg.get_real("train.validation_share");
  const std::string trained = ini_text_value(editor.context().config_ini, "train", "validation_share");
  if (trained.empty()) return given;  // an editor without its config: the key's value, as before
  const double share = std::stod(trained);
  if (cfg.source_of("train.validation_share") != "default" && given != share && cfg.get_text("edit.rows") != "all")
    throw UsageError(fmt::format("train.validation_share = {} (from {}), but the editor {} was trained with {}: "
                                 "edit.rows = {} must split the store as the trainer did (leave the key unset)",
                                 given, cfg.source_of("train.validation_share"), editor.dir().string(), share,
                                 cfg.get_text("edit.rows")));
  return share;
}

// The source rows the run edits, ascending.
std::vector<int64_t> selected_rows(const LatentStore& store, const Config& cfg, double share, std::string* split_by) {
  const std::string which = cfg.get_text("edit.rows");
  *split_by = "";
  if (which == "all") {
    std::vector<int64_t> rows(store.size());
    for (int64_t i = 0; i < store.size(); ++i) rows[i] = i;
    return rows;
  }
  RowSplit split = row_split(store, share);
  *split_by = split.by;
  return which == "heldout" ? split.heldout : split.train;
}

// Output rows of one item, in the order they are written.
struct EditedRows {
  std::vector<float> latents, labels, strength;
  std::vector<int64_t> video, frame, source_row, attribute;
  int64_t count = 0;
  // Rows `keep` of a batch (source rows `src`, labels [n, A]) edited into x_edit [keep.size(), D], each with its
  // attribute and signed strength.
  void add(const torch::Tensor& x_edit, const std::vector<int64_t>& keep, const std::vector<int64_t>& src,
           const torch::Tensor& source_labels, const std::vector<int64_t>& video_rows,
           const std::vector<int64_t>& frame_rows, int64_t attr, const std::vector<float>& g) {
    auto x = x_edit.contiguous();
    latents.insert(latents.end(), x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    const int64_t A = source_labels.size(1);
    const float* label_rows = source_labels.data_ptr<float>();
    for (size_t k = 0; k < keep.size(); ++k) {
      const int64_t i = keep[k];
      labels.insert(labels.end(), label_rows + i * A, label_rows + (i + 1) * A);
      video.push_back(video_rows[i]);
      frame.push_back(frame_rows[i]);
      source_row.push_back(src[i]);
      attribute.push_back(attr);
      strength.push_back(g[k]);
    }
    count += int64_t(keep.size());
  }
};

}  // namespace

void pipeline_edit_store_add_config(ConfigSchema& schema) {
  schema
      .add_text("edit.recipe", "", "edits applied in order to every selected row: \"NAME=STRENGTH, NAME=STRENGTH\" "
                                   "(or --edit NAME=STRENGTH, repeated)")
      .add_choice("edit.protocol", "none", {"none", "flip-each"},
                  "evaluation protocol instead of a recipe: flip-each edits every row once per attribute, in the "
                  "direction that flips its label")
      .add_real("edit.strength", 1.0, "|g| of the protocol's edits (lt_linear/region_mlp train on [-1, 1]; linear, "
                                      "linear_masked, linear_orthogonal: units of the editor's linear scale)", 0, 100)
      .add_text("edit.strengths", "", "comma-separated list of |g| for curves (overrides edit.strength); eval-latent "
                                      "then also compares at matched success (eval.match_success)")
      .add_choice("edit.rows", "all", {"all", "heldout", "train"},
                  "which source rows: all, or one side of the split by train.validation_share (store/row_split.h)")
      .add_int("edit.rows_per_item", 2048, "source rows per work item (the unit of resume and load balance)", 1, 1e9)
      .add_int("edit.batch_size", 256, "rows per editor call", 1, 1e6)
      .add_real("edit.test_delay_ms", 0, "sleep after each batch (tests use it so that a signal lands mid-run)", 0, 1e5)
      .add_real("train.validation_share", 0.1, "share of rows held out by the trainer (edit.rows = heldout edits "
                                               "them); default: the value the editor was trained with", 0, 0.9);
}

int pipeline_edit_store_run(Communicator& comm, const EditStoreOptions& options) {
  const StageRun& stage = options.run;
  const Config& cfg = stage.config;
  torch::set_num_threads(stage.threads());
  const bool protocol = cfg.get_text("edit.protocol") != "none";
  const std::vector<std::string> recipe_texts = cfg.get_text_list("edit.recipe");
  if (protocol == !recipe_texts.empty())
    throw UsageError(protocol ? "edit: give either a recipe (--edit NAME=STRENGTH) or --protocol, not both"
                              : "edit: nothing to do: give a recipe (--edit NAME=STRENGTH, repeated) or --protocol "
                                "flip-each");
  const std::vector<double> strengths = parse_strengths(cfg);

  LatentStore store(options.store);
  EditorRuntime editor(options.editor, options.classifier);
  const int64_t D = store.latent_dim(), A = store.num_attributes();
  if (editor.latent_dim() != D)
    throw DataError(fmt::format("{}: latents of {} dims, but the editor {} edits latents of {} dims",
                                store.path().string(), D, options.editor, editor.latent_dim()));
  if (protocol && editor.attribute_names() != store.attribute_names())
    throw DataError(fmt::format("{}: its attributes differ from those of the editor {} (was it trained on this "
                                "store?); flip-each needs both", store.path().string(), options.editor));
  std::vector<EditStep> recipe;
  try {
    recipe = editor.parse_recipe(recipe_texts);
  } catch (const UsageError& e) {
    // The landmark backbone's editors know geometric attributes only: say why a "hair_color" cannot be had here.
    if (store.attribute_text("backbone_kind") != "landmark") throw;
    throw UsageError(std::string(e.what()) + " (the landmark backbone edits face shape and expression only; appearance "
                                             "such as hair colour, glasses or age texture needs a generative "
                                             "TorchScript backbone: docs/backbones.md)");
  }
  std::string split_by;
  const double share = validation_share(cfg, editor);
  const std::vector<int64_t> rows = selected_rows(store, cfg, share, &split_by);
  const int64_t per_item = cfg.get_int("edit.rows_per_item"), batch = cfg.get_int("edit.batch_size");
  const double delay_ms = cfg.get_real("edit.test_delay_ms");

  // A run folder holds one edit: resuming with other settings or inputs would mix two edits in one store.
  // (edit.test_delay_ms only slows a run down: not a setting of what it writes.)
  const std::string settings =
      output_fingerprint(cfg, 1, {options.store, (fs::path(options.editor) / "editor.h5").string(),
                                  (fs::path(options.editor) / "editor_weights.pt").string()},
                         {"edit.test_delay_ms"});
  if (comm.rank() == 0) stage_settings_claim(stage, settings, {k_rows_dir}, "an edit with other settings or inputs");
  comm.barrier();

  std::vector<ItemRunItem> items;
  for (int64_t b = 0, i = 0; b < int64_t(rows.size()); b += per_item, ++i)
    items.push_back({fmt::format("rows_{:06d}", i), double(std::min<int64_t>(per_item, int64_t(rows.size()) - b)), i});
  const auto columns = store_columns(store.latent_shape(), A, {{k_col_source_row, {}, ColumnType::i64},
                                                               {k_col_attribute, {}, ColumnType::i64},
                                                               {k_col_strength, {}, ColumnType::f32}});
  if (comm.rank() == 0)
    spdlog::info("edit: {} editor {} on {} rows of {} ({}), {} item(s) of up to {} rows",
                 editor.spec().transform, options.editor, rows.size(), options.store,
                 protocol ? fmt::format("protocol flip-each, {} strength(s)", strengths.size())
                          : "recipe " + cfg.get_text("edit.recipe"),
                 items.size(), per_item);

  ItemRunOptions ro;
  ro.output_dirs = {k_rows_dir};
  ro.retry_failed = options.retry_failed;
  ItemRunResult result = item_run(comm, stage, items, ro, [&](const ItemRunItem& item, ItemContext& ctx) {
    const int64_t first = item.index * per_item;
    const int64_t n_item = std::min<int64_t>(per_item, int64_t(rows.size()) - first);
    auto t0 = std::chrono::steady_clock::now();
    EditedRows out;
    for (int64_t b0 = 0; b0 < n_item; b0 += batch) {
      const int64_t n = std::min(batch, n_item - b0);
      std::vector<int64_t> src(rows.begin() + first + b0, rows.begin() + first + b0 + n);
      auto x = torch::empty({n, D}), labels = torch::empty({n, A});
      std::vector<int64_t> video(n), frame(n);
      store.read_latents(src, x.data_ptr<float>());
      store.read_labels(src, labels.data_ptr<float>());
      store.read_rows_i64(k_col_video_index, src, video.data());
      store.read_rows_i64(k_col_frame_index, src, frame.data());
      std::vector<int64_t> all(n);
      for (int64_t i = 0; i < n; ++i) all[i] = i;
      if (!protocol) {
        const bool one = recipe.size() == 1;
        out.add(editor.apply_recipe(x, recipe), all, src, labels, video, frame, one ? recipe[0].attribute : -1,
                std::vector<float>(n, one ? float(recipe[0].strength) : std::nanf("")));
      } else {
        const float* label = labels.data_ptr<float>();
        for (double s : strengths) {
          for (int64_t a = 0; a < A; ++a) {
            // Rows with an unknown label (NaN) cannot be flipped: skipped for this attribute. The sign flips the
            // label: remove the attribute where it is present (label > 0.5), add it where it is absent.
            std::vector<int64_t> keep;
            std::vector<float> g;
            for (int64_t i = 0; i < n; ++i) {
              const float l = label[i * A + a];
              if (std::isnan(l)) continue;
              keep.push_back(i);
              g.push_back(l > 0.5f ? -float(s) : float(s));
            }
            if (keep.empty()) continue;
            const int64_t m = int64_t(keep.size());
            auto x_edit = editor.apply(x.index_select(0, torch::tensor(keep, torch::kLong)),
                                       torch::full({m}, a, torch::kLong), torch::tensor(g, torch::kFloat));
            out.add(x_edit, keep, src, labels, video, frame, a, g);
          }
        }
      }
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms));
      ctx.poll();
    }
    ctx.timings()["edit"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string name = std::string(k_rows_dir) + "/" + item.id + ".h5";
    RowFileWriter w(ctx.work().path_for(name), k_store_schema, k_store_schema_version, columns);
    w.set_attr_int64s("latent_shape", store.latent_shape());
    if (out.count > 0) {
      w.append(k_col_latents, out.latents.data(), out.count);
      w.append(k_col_labels, out.labels.data(), out.count);
      w.append(k_col_video_index, out.video.data(), out.count);
      w.append(k_col_frame_index, out.frame.data(), out.count);
      w.append(k_col_source_row, out.source_row.data(), out.count);
      w.append(k_col_attribute, out.attribute.data(), out.count);
      w.append(k_col_strength, out.strength.data(), out.count);
    }
    w.finalize();
    ctx.info()["source_rows"] = n_item;
    ctx.info()["rows"] = out.count;
  });

  if (comm.rank() == 0) {
    ItemIndexSpec spec{k_store_schema, k_store_schema_version, columns, [&](RowFileWriter& index) {
      index.set_attr_int64s("latent_shape", store.latent_shape());
      index.write_strings(k_ds_attribute_names, store.attribute_names());
      if (store.has_column(k_ds_video_names)) index.write_strings(k_ds_video_names, store.read_strings(k_ds_video_names));
      edit_write_provenance(index, options.store, editor, options.classifier);
      index.set_attr_string("edit_mode", protocol ? "protocol" : "recipe");
      index.set_attr_string("edit_protocol", cfg.get_text("edit.protocol"));
      index.set_attr_string("edit_recipe", cfg.get_text("edit.recipe"));
      std::string strengths_text;
      for (double s : strengths) strengths_text += (strengths_text.empty() ? "" : ",") + fmt::format("{}", s);
      index.set_attr_string("edit_strengths", strengths_text);
      index.set_attr_string("edit_rows", cfg.get_text("edit.rows"));
      index.set_attr_string("edit_split_by", split_by);
      index.set_attr_string("edit_validation_share", fmt::format("{}", share));
    }};
    if (!options.out.parent_path().empty()) file_ensure_writable_dir(options.out.parent_path());
    const int64_t total = item_index_write_from_ledger(options.out, spec, ItemLedger(stage.run_dir), result.done_ids,
                                                       [](const std::string& id) { return std::string(k_rows_dir) + "/" + id + ".h5"; });
    spdlog::info("edit: wrote {} ({} edited rows from {} item(s))", options.out.string(), total, result.done_ids.size());
  }
  comm.barrier();
  return item_run_exit_code(result);
}

}  // namespace s3e
