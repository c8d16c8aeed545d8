// cmd_faces.cpp — `s3editor faces <image|video>`: the face stack on one photo or video. Writes a JSON with, per
// face (per frame for a video): box, 68 landmarks, descriptor, age, gender, expressions (video: track id, raw and
// smoothed landmarks, FFHQ crop quad), and an overlay (PNG for a photo, MP4 for a video) a person can look at.
#include "pipeline/faces.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/errors.h"
#include "core/file_util.h"
#include "face/face_align.h"
#include "face/face_crops.h"
#include "face/face_detector_size.h"
#include "face/face_identity.h"
#include "face/face_models.h"
#include "face/face_overlay.h"
#include "face/face_tracker.h"
#include "media/image_io.h"
#include "media/video_reader.h"
#include "media/video_writer.h"
#include "pipeline/face_settings.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {
namespace {

json box_json(const FaceBox& b) { return {{"x", b.x}, {"y", b.y}, {"width", b.width}, {"height", b.height}}; }
json rect_json(const FaceRect& r) { return {{"x", r.x}, {"y", r.y}, {"width", r.width}, {"height", r.height}}; }
json points_json(const FaceLandmarks& l) {
  json a = json::array();
  for (auto& p : l) a.push_back({p.x, p.y});
  return a;
}
json quad_json(const FaceQuad& q) {
  json a = json::array();
  for (auto& p : q.corners) a.push_back({p.x, p.y});
  return a;
}

// Descriptor and attributes of a face.
void identity_json(json& j, const FaceDescriptor& d, const FaceAttributes& a, bool descriptor, bool attributes) {
  if (descriptor) {
    j["descriptor"] = std::vector<float>(d.begin(), d.end());
    // Distance from the population mean: how far this face is from "average" (DESIGN.md §6).
    j["distance_to_population_mean"] = face_descriptor_distance(d, face_population_mean());
  }
  if (attributes) {
    j["age"] = a.age;
    j["gender"] = a.male_probability > 0.5 ? "male" : "female";
    j["male_probability"] = a.male_probability;
    json e;
    for (int k = 0; k < k_face_expression_count; ++k) e[k_face_expression_names[k]] = a.expressions[k];
    j["expressions"] = e;
  }
}

int run_image(const std::string& input, const FaceModels& models, json& out, const fs::path& overlay) {
  const Frame image = image_read_rgb(input);
  auto faces = models.analyze(image.view());
  json frame = {{"index", 0}, {"faces", json::array()}};
  Frame drawn = image;
  for (size_t i = 0; i < faces.size(); ++i) {
    const FaceRecord& f = faces[i];
    json j = {{"score", f.detection.score}, {"box", box_json(f.detection.box)}, {"landmark_crop", rect_json(f.landmark_crop)},
              {"attribute_crop", rect_json(f.attribute_crop)}, {"descriptor_crop", rect_json(f.descriptor_crop)},
              {"landmarks", points_json(f.landmarks)}, {"quad_ffhq", quad_json(face_quad_ffhq(f.landmarks))}};
    identity_json(j, f.descriptor, f.attributes, models.options().load_descriptor, models.options().load_attributes);
    frame["faces"].push_back(j);
    OverlayColor c = overlay_track_color(static_cast<int>(i));
    overlay_box(drawn, f.detection.box, c, 3);
    overlay_quad(drawn, face_quad_ffhq(f.landmarks), {0, 255, 255}, 1);
    overlay_landmarks(drawn, f.landmarks, c, 3);
    if (models.options().load_attributes) overlay_attributes(drawn, f.detection.box, f.attributes, c);
  }
  out["width"] = image.width, out["height"] = image.height;
  out["frames"] = json::array({frame});
  out["summary"] = {{"frames", 1}, {"faces", faces.size()}};
  image_write_png(overlay.string(), drawn);
  spdlog::info("faces: {} face(s) in {}", faces.size(), input);
  return 0;
}

int run_video(const StageRun& stage, const std::string& input, const FaceModels& models, json& out, const fs::path& overlay) {
  const Config& cfg = stage.config;
  FaceTracker tracker(models, face_tracker_options(cfg));
  int64_t max_frames = cfg.get_int("faces.max_frames");
  bool with_descriptor = models.options().load_descriptor, with_attributes = models.options().load_attributes;

  // Pass 1: track, and describe every tracked face of every frame.
  VideoReader reader(input);
  Frame frame;
  std::vector<std::vector<FaceDescriptor>> descriptors;
  std::vector<std::vector<FaceAttributes>> attributes;
  auto t0 = std::chrono::steady_clock::now();
  while ((max_frames <= 0 || int64_t(tracker.frames().size()) < max_frames) && reader.next(frame)) {
    const TrackFrame& tf = tracker.push(frame.view());
    std::vector<FaceRect> dcrops, acrops;
    for (auto& f : tf.faces) {
      const FaceNetCrops c = face_net_crops(f.landmarks, f.crop, frame.width, frame.height);
      dcrops.push_back(c.descriptor), acrops.push_back(c.attributes);
    }
    descriptors.push_back(with_descriptor ? models.descriptors(frame.view(), dcrops) : std::vector<FaceDescriptor>(dcrops.size()));
    attributes.push_back(with_attributes ? models.attributes(frame.view(), acrops) : std::vector<FaceAttributes>(acrops.size()));
  }
  if (tracker.frames().empty()) throw DataError(fmt::format("{}: no frame could be decoded", input));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  track_smooth(tracker.frames(), cfg.get_real("faces.sigma_landmarks"), cfg.get_real("faces.sigma_quad"));
  TrackStats stats = track_stats(tracker.frames());

  json frames = json::array();
  for (size_t t = 0; t < tracker.frames().size(); ++t) {
    const TrackFrame& tf = tracker.frames()[t];
    json jf = {{"index", tf.index}, {"detector_ran", tf.detector_ran}, {"shot_cut", tf.shot_cut}, {"faces", json::array()}};
    for (size_t k = 0; k < tf.faces.size(); ++k) {
      const TrackedFace& f = tf.faces[k];
      json j = {{"track_id", f.track_id}, {"detected", f.detected}, {"crop", rect_json(f.crop)},
                {"landmarks", points_json(f.landmarks)}, {"landmarks_smoothed", points_json(f.smoothed)},
                {"quad_ffhq", quad_json(f.quad)}};
      if (f.detected) j["score"] = f.score;
      identity_json(j, descriptors[t][k], attributes[t][k], with_descriptor, with_attributes);
      jf["faces"].push_back(j);
    }
    frames.push_back(jf);
  }
  json tracks = json::array();
  for (auto& t : tracker.tracks())
    tracks.push_back({{"id", t.id}, {"frames", t.frames}, {"segments", t.segments}, {"first_frame", t.first_frame},
                      {"last_frame", t.last_frame}});
  out["width"] = reader.info().width, out["height"] = reader.info().height, out["fps"] = reader.info().fps;
  out["frames"] = frames;
  out["tracks"] = tracks;
  out["summary"] = {{"frames", stats.frames}, {"frames_with_face", stats.frames_with_face},
                    {"share_with_face", double(stats.frames_with_face) / stats.frames},
                    {"frames_with_several_faces", stats.frames_with_several}, {"shot_cuts", stats.shot_cuts},
                    {"detector_runs", stats.detector_runs}, {"tracks", tracker.tracks().size()},
                    {"main_track", stats.main_track}, {"jitter_raw_px", stats.jitter_raw},
                    {"jitter_smoothed_px", stats.jitter_smoothed}, {"seconds", seconds}};
  spdlog::info("faces: {} frames, {} with a face, {} tracks, {} shot cuts; jitter {:.3f} -> {:.3f} px ({:.1f} s)",
               stats.frames, stats.frames_with_face, tracker.tracks().size(), stats.shot_cuts, stats.jitter_raw,
               stats.jitter_smoothed, seconds);

  // Pass 2: the overlay video (smoothed landmarks and quads, a colour per track).
  reader.seek_frame(0);
  VideoWriter writer(overlay.string(), video_writer_options_like(reader.info()));
  for (size_t t = 0; t < tracker.frames().size() && reader.next(frame); ++t) {
    for (size_t k = 0; k < tracker.frames()[t].faces.size(); ++k) {
      const TrackedFace& f = tracker.frames()[t].faces[k];
      OverlayColor c = overlay_track_color(f.track_id);
      overlay_quad(frame, f.quad, {0, 255, 255}, 1);
      overlay_landmarks(frame, f.smoothed, c, 1);
      FaceBox box = face_landmarks_bbox(f.smoothed);
      overlay_box(frame, box, c, f.detected ? 3 : 1);
      if (with_attributes) overlay_attributes(frame, box, attributes[t][k], c);
    }
    writer.write(frame);  // a Frame is an Image: the overlays draw on it in place
  }
  writer.close();
  return 0;
}

}  // namespace

void pipeline_faces_add_config(ConfigSchema& schema) {
  face_settings_add_config(schema);
  schema.add_int("faces.max_frames", 0, "video: stop after this many frames (0: all)", 0, 1e9);
}

int pipeline_faces_run(Communicator& comm, const FacesOptions& options) {
  const StageRun& stage = options.run;
  auto inputs = options.inputs;
  if (inputs.size() != 1) throw UsageError("s3editor faces: give one image or video (see s3editor faces --help)");
  const std::string& input = inputs[0];
  const Config& cfg = stage.config;
  face_set_threads(stage.threads());
  const FaceModelsOptions mo = face_models_options(cfg);
  FaceModels models(mo);

  const VideoInfo info = VideoReader(input).info();
  bool image = info.is_image;  // a photo (or a one-picture image sequence)
  fs::path json_path = options.json_out.empty() ? stage.run_dir / "faces.json" : fs::path(options.json_out);
  fs::path overlay = !options.overlay_out.empty() ? fs::path(options.overlay_out) : stage.run_dir / (image ? "faces_overlay.png" : "faces_overlay.mp4");
  // The detector size decides which faces can be found at all (a too small one silently drops small faces), so the
  // choice and what it implies are logged and recorded.
  const std::vector<int> input_sizes = models.detector_input_sizes(info.width, info.height);
  const double smallest = face_detector_min_face_height(info.width, info.height, input_sizes.back());
  spdlog::info("faces: detector input size {} ({}) for {}x{}: finds faces from about {:.0f} px high",
               fmt::join(input_sizes, "+"),
               mo.detector_input_size == 0 ? fmt::format("auto, faces.detector_min_face = {:g}", mo.detector_min_face)
                                           : std::string("set"),
               info.width, info.height, smallest);
  json out = {{"input", input}, {"kind", image ? "image" : "video"},
              {"settings", {{"detector", "TinyFaceDetector"},
                            {"input_size", mo.detector_input_size == 0 ? json("auto") : json(mo.detector_input_size)},
                            {"input_sizes_used", input_sizes}, {"min_face", mo.detector_min_face},
                            {"min_face_found_px", smallest}, {"score_threshold", mo.detector_score},
                            {"model_dir", models.options().model_dir.string()}}}};
  int rc = image ? run_image(input, models, out, overlay) : run_video(stage, input, models, out, overlay);
  out["overlay"] = overlay.string();
  file_write_atomic(json_path, out.dump(1));
  spdlog::info("faces: wrote {} and {}", json_path.string(), overlay.string());
  return rc;
}

}  // namespace s3e
