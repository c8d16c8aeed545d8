#include "pipeline/edit_videos.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>

#include "backbone/backbone.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "editor/editor_runtime.h"
#include "face/face_cpu.h"
#include "face/face_models.h"
#include "pipeline/edit_provenance.h"
#include "pipeline/edit_video_item.h"
#include "pipeline/ingest_inputs.h"
#include "pipeline/item_run.h"
#include "pipeline/stage_settings.h"
#include "store/item_index.h"
#include "store/latent_store.h"
#include "store/output_fingerprint.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

// The store's video table and each video's rows.
std::vector<VideoEditSource> video_sources(const LatentStore& store) {
  if (!store.has_column("videos/status") || store.attribute_text("source") != "ingest")
    throw UsageError(fmt::format("{}: not an ingested store (it has no video table); edit --videos edits the videos "
                                 "that `s3editor ingest` wrote a store of (without --videos, edit edits its rows)",
                                 store.path().string()));
  const auto names = store.read_strings(k_ds_video_names), sha = store.read_strings("videos/sha256"),
             status = store.read_strings("videos/status");
  std::vector<VideoEditSource> out(names.size());
  for (size_t v = 0; v < names.size(); ++v) out[v] = {int64_t(v), names[v], sha[v], status[v], {}};
  std::vector<int64_t> video(size_t(store.size()));
  if (store.size() > 0) store.read_range_i64(k_col_video_index, 0, store.size(), video.data());
  for (int64_t i = 0; i < store.size(); ++i) {
    if (video[i] < 0 || video[i] >= int64_t(out.size()))
      throw DataError(fmt::format("{}: row {} names video {}, outside its video table of {}", store.path().string(), i,
                                  video[i], out.size()));
    out[size_t(video[i])].rows.push_back(i);
  }
  return out;
}

}  // namespace

void pipeline_edit_videos_add_config(ConfigSchema& schema) {
  media_limits_add_keys(schema);
  schema
      .add_bool("edit.videos", false, "edit the videos an ingested store names (and write edited videos) instead of "
                                      "the store's latent rows")
      .add_choice("edit.units", "measure", {"measure", "editor"},
                  "videos: recipe strengths in the backbone's measure units (landmark backbone: fractions of the "
                  "inter-ocular distance; smile=+0.1 raises the mouth corners by 0.1 IOD), or the editor's own g")
      .add_real("edit.max_strength", 20, "videos: largest |g| the calibration of measure units may use", 0, 1e4)
      .add_text("edit.tracks", "all", "videos: which face tracks to edit: all, largest, or a track id (side/track_id)")
      .add_real("edit.smooth_sigma", 2, "videos: Gaussian over time (frames) applied to the edit residual z' - z of "
                                        "each track; 0: off", 0, 1000)
      .add_real("edit.start_s", 0, "videos: edit faces from this time on (seconds); the whole video is written", 0, 1e7)
      .add_real("edit.end_s", 0, "videos: edit faces up to this time (seconds, 0: to the end)", 0, 1e7)
      .add_choice("edit.codec", "h264", {"h264", "h265", "vp9", "ffv1"},
                  "videos: codec of the edited videos (ffv1: lossless RGB in .mkv)")
      .add_int("edit.crf", 18, "videos: constant rate factor (h264/h265 0..51, vp9 0..63; lower is better)", 0, 63)
      .add_text("edit.preset", "fast", "videos: encoder preset, ultrafast .. veryslow")
      .add_text("edit.container", "auto", "videos: file extension of the edited videos: auto (mp4; mkv for ffv1), "
                                          "mp4, mkv, mov, webm")
      .add_bool("edit.preview", false, "videos: also write previews/<id>.mp4: source | edited | change heat map")
      .add_int("edit.preview_width", 1920, "videos: width of the preview (its three panels scaled down to fit)", 64, 16384)
      .add_int("edit.crop_size", 0, "videos: aligned crop side for the landmark backbone's warp (0: about the faces' "
                                    "own size, the median quad side rounded up to 32)", 0, 4096)
      .add_real("edit.mask_dilation", 0.05, "videos: paste-back mask grows beyond the landmark hull by this share of "
                                            "the crop quad's side", 0, 1)
      .add_real("edit.mask_feather", 0.08, "videos: then fades to 0 over this share of the quad's side", 0, 1);
}

int pipeline_edit_videos_run(Communicator& comm, const EditVideosOptions& options) {
  const StageRun& stage = options.run;
  const Config& cfg = stage.config;
  torch::set_num_threads(stage.threads());
  face_set_threads(stage.threads());
  face_malloc_keep();  // the warp's buffers are reused frame after frame (face/face_cpu.h)
  if (cfg.get_text("edit.protocol") != "none")
    throw UsageError("edit --videos takes a recipe (--edit NAME=STRENGTH, repeated); the flip-each protocol edits "
                     "latent rows (leave out --videos)");
  const std::vector<std::string> recipe_texts = cfg.get_text_list("edit.recipe");
  if (recipe_texts.empty()) throw UsageError("edit --videos: nothing to do: give a recipe (--edit NAME=STRENGTH)");
  const std::string tracks = cfg.get_text("edit.tracks");
  if (tracks != "all" && tracks != "largest" &&
      (tracks.empty() || tracks.find_first_not_of("0123456789") != std::string::npos))
    throw UsageError(fmt::format("edit.tracks = '{}' (from {}): expected all, largest or a track id", tracks,
                                 cfg.source_of("edit.tracks")));

  LatentStore store(options.store);
  const std::vector<VideoEditSource> sources = video_sources(store);
  const std::string backbone_spec = store.attribute_text("backbone");
  std::unique_ptr<Backbone> backbone = backbone_open(backbone_spec);
  if (backbone->info().fingerprint != store.attribute_text("backbone_fingerprint"))
    throw DataError(fmt::format("{}: ingested with backbone {} ({}), but {} is now {}", options.store, backbone_spec,
                                store.attribute_text("backbone_fingerprint"), backbone_spec,
                                backbone->info().fingerprint));
  EditorRuntime editor(options.editor, options.classifier);
  if (editor.latent_dim() != store.latent_dim())
    throw DataError(fmt::format("{}: latents of {} dims, but the editor {} edits latents of {} dims", options.store,
                                store.latent_dim(), options.editor, editor.latent_dim()));

  VideoEditSettings s;
  s.store = &store;
  s.editor = &editor;
  s.backbone = backbone.get();
  s.landmark_backbone = backbone->info().kind == "landmark";
  s.strength.units = cfg.get_text("edit.units");
  s.strength.max_strength = cfg.get_real("edit.max_strength");
  s.steps = strength_steps_parse(recipe_texts, editor, *backbone, s.strength.units);
  s.tracks = tracks;
  s.smooth_sigma = cfg.get_real("edit.smooth_sigma");
  s.start_s = cfg.get_real("edit.start_s"), s.end_s = cfg.get_real("edit.end_s");
  if (s.end_s > 0 && s.end_s <= s.start_s)
    throw UsageError(fmt::format("edit.end_s = {} is not after edit.start_s = {}", s.end_s, s.start_s));
  s.crop_size = int(cfg.get_int("edit.crop_size"));
  if (s.crop_size > 0 && s.crop_size < 16) throw UsageError("edit.crop_size: 0 (auto) or at least 16");
  s.paste.dilation = cfg.get_real("edit.mask_dilation"), s.paste.feather = cfg.get_real("edit.mask_feather");
  s.encode.codec = cfg.get_text("edit.codec");
  s.encode.crf = int(cfg.get_int("edit.crf"));
  s.encode.preset = cfg.get_text("edit.preset");
  s.extension = cfg.get_text("edit.container");
  if (s.extension == "auto") s.extension = s.encode.codec == "ffv1" ? "mkv" : "mp4";
  s.preview = cfg.get_bool("edit.preview");
  s.preview_options.max_width = int(cfg.get_int("edit.preview_width"));
  s.limits = media_limits_from_config(cfg);
  s.test_delay_ms = cfg.get_real("edit.test_delay_ms");

  // A run folder holds one edit (edit.test_delay_ms only slows a run down: not a setting of what it writes).
  const std::string settings =
      output_fingerprint(cfg, 1, {options.store, (fs::path(options.editor) / "editor.h5").string(),
                                  (fs::path(options.editor) / "editor_weights.pt").string()},
                         {"edit.test_delay_ms"});
  if (comm.rank() == 0)
    stage_settings_claim(stage, settings, {k_edit_video_dir, k_edit_preview_dir, k_edit_latents_dir},
                         "an edit with other settings or inputs");
  comm.barrier();

  std::vector<ItemRunItem> items;
  std::vector<int64_t> frames = store.read_array_i64("videos/frames");
  for (auto& src : sources)
    items.push_back({ingest_input_id(src.path), double(std::max<int64_t>(1, frames[size_t(src.video)])), src.video});
  if (comm.rank() == 0) {
    int64_t total = 0;
    for (auto& it : items) total += int64_t(it.cost);
    spdlog::info("edit: {} editor {} on {} video(s) of {} (~{} frames), recipe {} ({} units), tracks {}, smoothing "
                 "sigma {} frames, {} crf {}",
                 editor.spec().transform, options.editor, items.size(), options.store, total,
                 cfg.get_text("edit.recipe"), s.strength.units, tracks, s.smooth_sigma, s.encode.codec, s.encode.crf);
  }

  ItemRunOptions ro;
  ro.output_dirs = {k_edit_video_dir, k_edit_preview_dir, k_edit_latents_dir};
  ro.retry_failed = options.retry_failed;
  ro.progress_unit = "frames";
  ItemRunResult result = item_run(comm, stage, items, ro, [&](const ItemRunItem& item, ItemContext& ctx) {
    edit_video_item_run(sources[size_t(item.index)], s, item.id, ctx);
  });

  if (comm.rank() == 0) {
    const bool has_measures = backbone->has_measures();
    const auto columns = edit_video_columns(store.latent_shape(), store.num_attributes(), has_measures);
    ItemLedger ledger(stage.run_dir);
    std::vector<std::string> edited_path(sources.size()), edit_status(sources.size());
    std::map<std::string, size_t> video_of_id;
    for (auto& it : items) video_of_id[it.id] = size_t(it.index);
    for (auto& it : items) {
      const ItemStatus st = ledger.status(it.id);
      edit_status[size_t(it.index)] = st == ItemStatus::done     ? "done"
                                      : st == ItemStatus::failed ? "failed: " + ledger.failed_record(it.id)->reason
                                                                 : "pending";
      if (st == ItemStatus::done)
        edited_path[size_t(it.index)] = fmt::format("{}/{}.{}", k_edit_video_dir, it.id, s.extension);
    }
    ItemIndexSpec spec{k_store_schema, k_store_schema_version, columns, [&](RowFileWriter& index) {
      index.set_attr_int64s("latent_shape", store.latent_shape());
      index.write_strings(k_ds_attribute_names, store.attribute_names());
      index.write_strings(k_ds_video_names, store.read_strings(k_ds_video_names));
      index.write_strings("videos/edited", edited_path);
      index.write_strings("videos/edit_status", edit_status);
      for (auto* key : {"backbone", "backbone_name", "backbone_kind", "backbone_fingerprint"})
        index.set_attr_string(key, store.attribute_text(key));
      index.set_attr_string("source", "edit");
      edit_write_provenance(index, options.store, editor, options.classifier);
      index.set_attr_string("edit_mode", "videos");
      index.set_attr_string("edit_recipe", cfg.get_text("edit.recipe"));
      index.set_attr_string("edit_units", s.strength.units);
      // videos/edited and the item files are relative to the run folder, which --out may lie outside of.
      index.set_attr_string("edit_run_dir", fs::absolute(stage.run_dir).lexically_normal().string());
    }};
    if (!options.out.parent_path().empty()) file_ensure_writable_dir(options.out.parent_path());
    const int64_t rows = item_index_write_from_ledger(options.out, spec, ledger, result.done_ids, [&](const std::string& id) {
      return fmt::format("{}/{}.h5", k_edit_latents_dir, id);
    });
    spdlog::info("edit: wrote {} ({} edited faces over {} video(s)); edited videos in {}", options.out.string(), rows,
                 result.done_ids.size(), (stage.run_dir / k_edit_video_dir).string());
  }
  comm.barrier();
  return item_run_exit_code(result);
}

}  // namespace s3e
