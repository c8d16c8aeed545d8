#include "pipeline/eval_videos.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <fstream>

#include "core/errors.h"
#include "core/file_util.h"
#include "face/face_models.h"
#include "metrics/identity_net.h"
#include "metrics/video_metrics_report.h"
#include "pipeline/eval_video_item.h"
#include "pipeline/face_settings.h"
#include "pipeline/ingest_inputs.h"
#include "pipeline/item_run.h"
#include "pipeline/stage_settings.h"
#include "store/latent_store.h"
#include "store/output_fingerprint.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

struct EvalItem {
  std::string id;
  VideoEvalSource source;
  double frames = 1;
};

// The videos of an edit --videos index, with their edited video and edited-latents file resolved.
std::vector<EvalItem> eval_items(const std::string& edited) {
  LatentStore index(edited, k_store_schema);
  if (index.attribute_text("edit_mode") != "videos" || !index.has_column("side/mask_rect"))
    throw UsageError(fmt::format("{}: not what `edit --videos` wrote (no video table); eval judges edited videos "
                                 "(an edited latent store is judged by eval-latent)",
                                 edited));
  fs::path run_dir = index.attribute_text("edit_run_dir");
  if (run_dir.empty()) run_dir = fs::absolute(edited).parent_path();  // written before the attribute: the default --out
  const auto names = index.read_strings(k_ds_video_names);
  const auto files = index.read_strings("videos/edited");
  const auto status = index.read_strings("videos/edit_status");
  if (files.size() != names.size() || status.size() != names.size())
    throw DataError(fmt::format("{}: video table of {} names, {} edited paths, {} statuses", edited, names.size(),
                                files.size(), status.size()));
  std::vector<EvalItem> items;
  for (size_t v = 0; v < names.size(); ++v) {
    EvalItem it;
    it.id = files[v].empty() ? ingest_input_id(names[v]) : fs::path(files[v]).stem().string();
    it.source.source = names[v];
    it.source.edit_status = status[v];
    if (!files[v].empty()) {
      it.source.edited_video = (run_dir / files[v]).lexically_normal().string();
      it.source.edited_latents = (run_dir / "edited_latents" / (it.id + ".h5")).string();
    }
    items.push_back(it);
  }
  // Cost for the queue: the edited rows (each costs two passes of the face nets).
  std::vector<int64_t> video(size_t(index.size()));
  if (index.size() > 0) index.read_range_i64(k_col_video_index, 0, index.size(), video.data());
  for (int64_t v : video)
    if (v >= 0 && v < int64_t(items.size())) items[size_t(v)].frames += 1;
  return items;
}

}  // namespace

void pipeline_eval_videos_add_config(ConfigSchema& schema) {
  item_run_add_config(schema);  // --shard, --merge-tasks
  face_settings_add_config(schema);
  media_limits_add_keys(schema);
  schema
      .add_text("eval.identity_net", "", "TorchScript identity net ([N,3,S,S] RGB in [0,1] -> [N,D]) replacing "
                                         "face-api's descriptor for ID, TL-ID and TG-ID (\"\": face-api)")
      .add_int("eval.identity_size", 112, "input side S of eval.identity_net (the FFHQ-aligned face crop)", 16, 1024)
      .add_text("eval.identity_mean", "", "population mean descriptor of eval.identity_net ({\"mean\": [D numbers]}) "
                                          "the similarities are centred on (\"\": raw cosine)")
      .add_real("eval.min_similarity", 0.1, "TL-ID/TG-ID: frame pairs whose source similarity is below this are "
                                            "excluded (and counted)", -1, 1)
      .add_real("eval.min_overlap", 0.3, "a detection is the edited face when its landmark box overlaps the edit's "
                                         "(IoU) at least this much", 0, 1)
      .add_int("eval.pixel_noise", 3, "pixel locality: levels of |edited - source| ignored as codec noise", 0, 255)
      .add_int("eval.tg_max_frames", 2000, "TG-ID over at most this many evenly spaced frames per face", 2, 1000000)
      .add_real("eval.success_share", 0.5, "a frame's edit succeeds when the measured change reaches this share of "
                                           "the asked change",
                0, 10);
}

int pipeline_eval_videos_run(Communicator& comm, const EvalVideosOptions& options) {
  const StageRun& stage = options.run;
  const Config& cfg = stage.config;
  torch::set_num_threads(stage.threads());
  face_set_threads(stage.threads());
  const std::vector<EvalItem> eval = eval_items(options.edited);

  FaceModelsOptions mo = face_models_options(cfg);
  mo.load_descriptor = true, mo.load_attributes = true;  // the descriptor and the side judges
  FaceModels models(mo);
  IdentityNetOptions io;
  io.torchscript = cfg.get_text("eval.identity_net");
  io.crop_size = int(cfg.get_int("eval.identity_size"));
  io.mean_file = cfg.get_text("eval.identity_mean");
  io.device = mo.device;
  const std::unique_ptr<IdentityNet> identity = identity_net_open(io);

  VideoEvalSettings s;
  s.models = &models;
  s.identity = identity.get();
  s.min_similarity = cfg.get_real("eval.min_similarity");
  s.min_overlap = cfg.get_real("eval.min_overlap");
  s.pixel_noise = int(cfg.get_int("eval.pixel_noise"));
  s.tg_max_frames = cfg.get_int("eval.tg_max_frames");
  s.success_share = cfg.get_real("eval.success_share");
  s.limits = media_limits_from_config(cfg);

  // A run folder holds one evaluation: the same index and settings, or --fresh.
  std::vector<std::string> inputs = {options.edited};
  if (!io.torchscript.empty()) inputs.push_back(io.torchscript);
  const std::string settings = output_fingerprint(cfg, 1, inputs, {});
  if (comm.rank() == 0) stage_settings_claim(stage, settings, {k_eval_video_dir}, "an evaluation with other settings or inputs");
  comm.barrier();

  std::vector<ItemRunItem> items;
  for (size_t k = 0; k < eval.size(); ++k) items.push_back({eval[k].id, eval[k].frames, int64_t(k)});
  if (comm.rank() == 0)
    spdlog::info("eval: {} video(s) of {}, identity by {}", items.size(), options.edited, identity->name());
  ItemRunOptions ro;
  ro.output_dirs = {k_eval_video_dir};
  ro.retry_failed = options.retry_failed;
  ro.progress_unit = "frames";
  const ItemRunResult result = item_run(comm, stage, items, ro, [&](const ItemRunItem& item, ItemContext& ctx) {
    eval_video_item_run(eval[size_t(item.index)].source, s, item.id, ctx);
  });

  if (comm.rank() == 0) {
    // Aggregation in item order from the committed files: the same numbers whatever ranks judged which video.
    ItemLedger ledger(stage.run_dir);
    std::vector<nlohmann::json> videos;
    for (auto& it : items) {
      const ItemStatus st = ledger.status(it.id);
      if (st != ItemStatus::done) {
        nlohmann::json v;
        v["video"] = it.id, v["source"] = eval[size_t(it.index)].source.source, v["evaluated"] = false;
        v["status"] = st == ItemStatus::failed ? "failed: " + ledger.failed_record(it.id)->reason : "pending";
        videos.push_back(v);
        continue;
      }
      const fs::path file = stage.run_dir / k_eval_video_dir / (it.id + ".json");
      std::ifstream in(file);
      nlohmann::json v;
      try {
        in >> v;
      } catch (const std::exception& e) {
        throw DataError(fmt::format("{}: unreadable ({})", file.string(), e.what()));
      }
      videos.push_back(v);
    }
    const nlohmann::json doc = video_metrics_document(videos, fs::absolute(options.edited).string(), identity->name());
    const fs::path out = options.out;
    if (!out.parent_path().empty()) file_ensure_writable_dir(out.parent_path());
    file_write_atomic(out, doc.dump(1) + "\n");
    const fs::path csv = out.parent_path() / (out.stem().string() + ".csv");
    file_write_atomic(csv, video_metrics_csv(doc));
    spdlog::info("eval: wrote {} and {}\n{}", out.string(), csv.string(), video_metrics_table(doc));
  }
  comm.barrier();
  return item_run_exit_code(result);
}

}  // namespace s3e
