#include "pipeline/ingest.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "backbone/backbone.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "pipeline/face_settings.h"
#include "pipeline/ingest_index.h"
#include "pipeline/ingest_inputs.h"
#include "pipeline/ingest_item.h"
#include "pipeline/item_run.h"
#include "pipeline/stage_settings.h"
#include "store/output_fingerprint.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {
namespace {

constexpr const char* k_item_dir = "latents";

json plan_json(const std::vector<std::string>& inputs, const std::vector<IngestItem>& items) {
  json j = {{"inputs", inputs}, {"items", json::array()}};
  for (auto& it : items)
    j["items"].push_back({it.id, it.input, it.range, it.ranges, it.begin_frame, it.end_frame, it.context_frames,
                          it.is_image, it.cost, it.probe_error});
  return j;
}

void plan_parse(const json& j, std::vector<std::string>* inputs, std::vector<IngestItem>* items) {
  *inputs = j.at("inputs").get<std::vector<std::string>>();
  for (auto& e : j.at("items")) {
    IngestItem it;
    it.id = e[0].get<std::string>();
    it.input = e[1].get<int64_t>();
    it.path = (*inputs)[size_t(it.input)];
    it.range = e[2].get<int>(), it.ranges = e[3].get<int>();
    it.begin_frame = e[4].get<int64_t>(), it.end_frame = e[5].get<int64_t>(), it.context_frames = e[6].get<int64_t>();
    it.is_image = e[7].get<bool>();
    it.cost = e[8].get<double>();
    it.probe_error = e[9].get<std::string>();
    items->push_back(it);
  }
}

}  // namespace

void pipeline_ingest_add_config(ConfigSchema& schema) {
  item_run_add_config(schema);  // --shard, --merge-tasks
  face_settings_add_config(schema);
  media_limits_add_keys(schema);
  schema
      .add_text("ingest.backbone", "landmark", "backbone: landmark (built in) or a TorchScript backbone folder "
                                               "(docs/backbones.md)")
      .add_choice("ingest.faces", "largest", {"largest", "all"},
                  "faces kept per item: the track with the largest summed face area, or every track")
      .add_real("ingest.range_seconds", 60, "long videos are cut into work items of this many seconds (0: one item "
                                            "per input)", 0, 1e6)
      .add_real("ingest.start_s", 0, "ingest only from this time of every video (seconds)", 0, 1e7)
      .add_real("ingest.end_s", 0, "ingest only up to this time of every video (seconds, 0: to the end)", 0, 1e7)
      .add_real("ingest.min_face_px", 32, "faces whose landmark box is lower (pixels) are not kept", 0, 1e5)
      .add_int("ingest.crop_size", 256, "aligned crop side of the landmark backbone (TorchScript backbones use their "
                                        "own input size)", 32, 4096)
      .add_bool("ingest.face_attributes", false, "also store age, gender and expression probabilities per row")
      .add_real("ingest.label_quantile", 0.5, "labels: measure above this quantile of the store's measures", 0.01, 0.99)
      .add_bool("ingest.relabel", false, "recompute the label thresholds kept in the run folder")
      .add_text("ingest.thresholds_from", "", "label with the thresholds of another store (e.g. the training store)")
      .add_int("ingest.encode_batch", 16, "crops per backbone encode call (TorchScript backbones)", 1, 4096)
      .add_real("ingest.test_delay_ms", 0, "sleep after each frame (tests use it so that a signal lands mid-run)", 0, 1e5);
}

int pipeline_ingest_run(Communicator& comm, const IngestOptions& options) {
  const StageRun& stage = options.run;
  const Config& cfg = stage.config;
  face_set_threads(stage.threads());
  const std::string backbone_spec = cfg.get_text("ingest.backbone");
  BackboneOpenOptions bo;
  bo.device = cfg.get_text("faces.device");
  bo.landmark_crop_size = int(cfg.get_int("ingest.crop_size"));
  std::unique_ptr<Backbone> backbone = backbone_open(backbone_spec, bo);
  FaceModelsOptions mo = face_models_options(cfg);
  mo.load_descriptor = true;  // identities keep tracks apart and join them across ranges
  FaceModels models(mo);

  IngestItemSettings settings;
  settings.backbone = backbone.get();
  settings.models = &models;
  settings.tracker = face_tracker_options(cfg);
  settings.sigma_landmarks = cfg.get_real("faces.sigma_landmarks");
  settings.sigma_quad = cfg.get_real("faces.sigma_quad");
  settings.faces = cfg.get_text("ingest.faces");
  settings.min_face_px = cfg.get_real("ingest.min_face_px");
  settings.face_attributes = cfg.get_bool("ingest.face_attributes");
  settings.encode_batch = int(cfg.get_int("ingest.encode_batch"));
  settings.limits = media_limits_from_config(cfg);
  const double delay_ms = cfg.get_real("ingest.test_delay_ms");
  if (settings.face_attributes && !mo.load_attributes)
    throw UsageError("ingest.face_attributes = true needs faces.attributes = true (the age/gender and expression nets)");

  // A run folder holds one ingest setting: resuming with other settings would mix rows of two kinds in one store.
  // Inputs are not part of it (adding videos to a run is allowed); the label settings only change the index.
  const std::string fingerprint =
      output_fingerprint(cfg, 1, {}, {"ingest.test_delay_ms", "ingest.relabel", "ingest.thresholds_from",
                                      "ingest.label_quantile"}) +
      "backbone=" + backbone->info().fingerprint + "\n";

  // Rank 0 lists and probes the inputs once; every rank gets the same plan.
  std::string plan_text;
  if (comm.rank() == 0) {
    stage_settings_claim(stage, fingerprint, {k_item_dir, "label_thresholds.json"},
                         "an ingest with other settings or another backbone");
    IngestPlanOptions po;
    po.range_seconds = cfg.get_real("ingest.range_seconds");
    // Context on both sides of a cut: the smoothing window (3 sigma) plus a detector interval to pick faces up.
    po.context_frames = int64_t(std::ceil(3 * std::max(settings.sigma_landmarks, settings.sigma_quad))) +
                        settings.tracker.detect_every;
    po.time_begin_s = cfg.get_real("ingest.start_s");
    po.time_end_s = cfg.get_real("ingest.end_s");
    po.limits = settings.limits;
    const auto inputs = ingest_list_inputs(options.inputs);
    plan_text = plan_json(inputs, ingest_plan_items(inputs, po)).dump();
  }
  std::vector<std::string> inputs;
  std::vector<IngestItem> plan;
  plan_parse(json::parse(comm_broadcast_string(comm, plan_text, 0)), &inputs, &plan);
  if (comm.rank() == 0) {
    int64_t frames = 0;
    for (auto& it : plan) frames += int64_t(it.cost);
    spdlog::info("ingest: {} input(s) -> {} item(s), ~{} frame(s); backbone {} ({} latent dims, {} attributes)",
                 inputs.size(), plan.size(), frames, backbone->info().name, backbone->info().latent_dim(),
                 backbone->info().attribute_names.size());
  }

  std::vector<ItemRunItem> items;
  for (size_t i = 0; i < plan.size(); ++i) items.push_back({plan[i].id, plan[i].cost, int64_t(i)});
  ItemRunOptions ro;
  ro.output_dirs = {k_item_dir};
  ro.retry_failed = options.retry_failed;
  ro.progress_unit = "frames";
  ItemRunResult result = item_run(comm, stage, items, ro, [&](const ItemRunItem& item, ItemContext& ctx) {
    const fs::path out = ctx.work().path_for(std::string(k_item_dir) + "/" + item.id + ".h5");
    if (delay_ms > 0) {
      // Tests: slow every frame down so that a signal lands mid-item (polling as the frame loop does).
      const auto& it = plan[size_t(item.index)];
      for (double f = 0; f < it.cost; ++f) {
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms));
        ctx.poll();
      }
    }
    ingest_item_run(plan[size_t(item.index)], settings, out, ctx);
  });

  int rc = item_run_exit_code(result);
  // A task of a job array (--shard) whose items hold no face at all (inputs without faces, or only failed ones)
  // writes no index of its own: that is no error of the shard, and the merge writes the store over every shard
  // (an unsharded run with no face rows still fails: its store would be empty).
  int64_t shard_rows = -1;
  if (comm.rank() == 0 && !cfg.get_text("run.shard").empty()) {
    const ItemLedger ledger(stage.run_dir);
    shard_rows = 0;
    for (auto& id : result.done_ids)
      if (auto record = ledger.done_record(id)) shard_rows += record->info.value("rows", int64_t(0));
    if (shard_rows == 0)
      spdlog::info("ingest: shard {}: no face rows in its {} done item(s) ({} failed): no index of this shard "
                   "written; the merge (--merge-tasks) writes the store over every shard",
                   cfg.get_text("run.shard"), result.done_ids.size(), result.failed);
  }
  if (comm.rank() == 0 && shard_rows != 0) {
    IngestIndexOptions io;
    io.run_dir = stage.run_dir;
    io.out = options.out;
    io.item_dir = k_item_dir;
    io.label_quantile = cfg.get_real("ingest.label_quantile");
    io.relabel = cfg.get_bool("ingest.relabel");
    io.thresholds_from = cfg.get_text("ingest.thresholds_from");
    io.identity_distance = settings.tracker.identity_distance;
    io.backbone_spec = backbone_spec == "landmark" ? "landmark" : fs::absolute(backbone_spec).lexically_normal().string();
    const IngestIndexSummary s = ingest_index_write(io, inputs, plan, ItemLedger(stage.run_dir), backbone->info(),
                                                    backbone->has_measures(), ingest_item_columns(settings));
    spdlog::info("ingest: wrote {}: {} rows from {} of {} input(s) ({} failed, {} without a face, {} partial); "
                 "labels: thresholds {}",
                 options.out.string(), s.rows, s.videos_done, s.videos, s.videos_failed, s.videos_without_face,
                 s.videos_partial, s.thresholds_source.empty() ? "none (the backbone has no measures)" : s.thresholds_source);
  }
  comm.barrier();
  return rc;
}

}  // namespace s3e
