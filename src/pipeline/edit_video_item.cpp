#include "pipeline/edit_video_item.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "backbone/landmark_backbone.h"
#include "core/clock_text.h"
#include "core/errors.h"
#include "dist/sha256.h"
#include "face/face_crops.h"
#include "face/face_smooth.h"
#include "media/video_reader.h"
#include "pipeline/edit_provenance.h"
#include "pipeline/ingest_item.h"
#include "store/row_file_writer.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {


// The store's rows of one video, as this item reads them.
struct VideoRows {
  int64_t n = 0, D = 0, A = 0;
  std::vector<float> latents, labels, quads, landmarks;
  std::vector<int64_t> frame, track, time_us, flags;
};

VideoRows read_rows(const LatentStore& store, const std::vector<int64_t>& rows) {
  VideoRows r;
  r.n = int64_t(rows.size()), r.D = store.latent_dim(), r.A = store.num_attributes();
  r.latents.resize(r.n * r.D), r.labels.resize(r.n * r.A), r.quads.resize(r.n * 8), r.landmarks.resize(r.n * 136);
  r.frame.resize(r.n), r.track.resize(r.n), r.time_us.resize(r.n), r.flags.resize(r.n);
  if (r.n == 0) return r;
  store.read_latents(rows, r.latents.data());
  if (r.A > 0) store.read_labels(rows, r.labels.data());
  store.read_rows_f32("side/quad", rows, r.quads.data());
  store.read_rows_f32("side/landmarks", rows, r.landmarks.data());
  store.read_rows_i64(k_col_frame_index, rows, r.frame.data());
  store.read_rows_i64("side/track_id", rows, r.track.data());
  store.read_rows_i64("side/time_us", rows, r.time_us.data());
  store.read_rows_i64("side/flags", rows, r.flags.data());
  return r;
}

FaceQuad quad_of(const VideoRows& r, int64_t i) {
  FaceQuad q;
  for (int c = 0; c < 4; ++c) q.corners[c] = {r.quads[i * 8 + 2 * c], r.quads[i * 8 + 2 * c + 1]};
  return q;
}

// The tracks to edit, by the store's track id.
std::vector<int64_t> chosen_tracks(const VideoRows& r, const std::string& which, const std::string& path) {
  std::map<int64_t, double> area;  // summed landmark-box area, as ingest chooses its "largest"
  for (int64_t i = 0; i < r.n; ++i) {
    FaceLandmarks lm;
    for (int p = 0; p < 68; ++p) lm[p] = {r.landmarks[i * 136 + 2 * p], r.landmarks[i * 136 + 2 * p + 1]};
    FaceBox b = face_landmarks_bbox(lm);
    area[r.track[i]] += b.width * b.height;
  }
  std::vector<int64_t> out;
  if (which == "all") {
    for (auto& [id, a] : area) out.push_back(id);
  } else if (which == "largest") {
    int64_t best = -1;
    for (auto& [id, a] : area)
      if (best < 0 || a > area[best]) best = id;
    if (best >= 0) out.push_back(best);
  } else {
    const int64_t id = std::stoll(which);  // checked by the driver
    if (!area.count(id))
      throw DataError(fmt::format("{}: edit.tracks = {}, but the store holds no track {} of this video (its tracks: {})",
                                  path, which, id, fmt::join([&] {
                                    std::vector<int64_t> ids;
                                    for (auto& [t, a] : area) ids.push_back(t);
                                    return ids;
                                  }(), ", ")));
    out.push_back(id);
  }
  return out;
}

// Smooths the residual `edited - source` of rows `idx` (one track, ascending frames) over time, within segments of
// consecutive frames not split by a shot cut, and writes source + smoothed residual into `edited`.
void smooth_residual(const std::vector<int64_t>& idx, const VideoRows& r, const std::vector<float>& source,
                     std::vector<float>& edited, double sigma) {
  if (sigma <= 0) return;
  const int64_t D = r.D;
  size_t begin = 0;
  while (begin < idx.size()) {
    size_t end = begin + 1;
    while (end < idx.size() && r.frame[idx[end]] == r.frame[idx[end - 1]] + 1 && !(r.flags[idx[end]] & k_flag_shot_cut)) ++end;
    std::vector<std::vector<double>> series(end - begin, std::vector<double>(D));
    for (size_t t = begin; t < end; ++t)
      for (int64_t d = 0; d < D; ++d) series[t - begin][d] = double(edited[idx[t] * D + d]) - double(source[idx[t] * D + d]);
    smooth_gaussian(series, sigma);
    for (size_t t = begin; t < end; ++t)
      for (int64_t d = 0; d < D; ++d) edited[idx[t] * D + d] = float(double(source[idx[t] * D + d]) + series[t - begin][d]);
    begin = end;
  }
}

int auto_crop_size(const VideoRows& r, const std::vector<int64_t>& edited_rows) {
  std::vector<double> sides;
  for (int64_t i : edited_rows) sides.push_back(quad_of(r, i).side());
  if (sides.empty()) return 256;
  std::nth_element(sides.begin(), sides.begin() + sides.size() / 2, sides.end());
  const double side = sides[sides.size() / 2];
  return std::clamp(int(std::ceil(side / 32.0)) * 32, 64, 1024);
}

}  // namespace

std::vector<ColumnSpec> edit_video_columns(const std::vector<int64_t>& latent_shape, int64_t A, bool has_measures) {
  std::vector<ColumnSpec> side = {{"edit/source_row", {}, ColumnType::i64},
                                  {"edit/attribute", {}, ColumnType::i64},
                                  {"edit/strength", {}, ColumnType::f32},
                                  {"source_latents", latent_shape, ColumnType::f32},
                                  {"side/track_id", {}, ColumnType::i64},
                                  {"side/time_us", {}, ColumnType::i64},
                                  {"side/quad", {4, 2}, ColumnType::f32},
                                  {"side/landmarks", {68, 2}, ColumnType::f32},
                                  {"side/mask_rect", {4}, ColumnType::i64}};
  if (has_measures) {
    side.push_back({"measures", {A}, ColumnType::f32});
    side.push_back({"source_measures", {A}, ColumnType::f32});
  }
  return store_columns(latent_shape, A, side);
}

void edit_video_item_run(const VideoEditSource& source, const VideoEditSettings& s, const std::string& id,
                         ItemContext& ctx) {
  ItemTimings& timings = ctx.timings();
  const std::string& path = source.path;
  if (source.status.rfind("failed", 0) == 0)
    throw DataError(fmt::format("{}: ingest could not read it ({}); nothing to edit", path, source.status));
  if (!fs::exists(path)) throw DataError(fmt::format("{}: the source video is gone (ingested, then moved or removed)", path));
  auto t = clock_steady_seconds();
  if (!source.sha256.empty()) {
    const std::string sha = sha256_file(path);
    if (sha != source.sha256)
      throw DataError(fmt::format("{}: the file changed since it was ingested (SHA-256 {}, the store has {}); "
                                  "ingest it again", path, sha, source.sha256));
  }
  timings["hash"] += clock_seconds_since(t);

  // 1. The store's rows of the video; the chosen tracks' rows inside the time range.
  t = clock_steady_seconds();
  VideoRows r = read_rows(*s.store, source.rows);
  const int64_t D = r.D, A = r.A;
  const std::vector<int64_t> tracks = chosen_tracks(r, s.tracks, path);
  const int64_t t0_us = std::llround(s.start_s * 1e6), t1_us = s.end_s > 0 ? std::llround(s.end_s * 1e6) : INT64_MAX;
  std::map<int64_t, std::vector<int64_t>> rows_of_track;  // ascending frames
  for (int64_t i = 0; i < r.n; ++i)
    if (std::find(tracks.begin(), tracks.end(), r.track[i]) != tracks.end() && r.time_us[i] >= t0_us && r.time_us[i] < t1_us)
      rows_of_track[r.track[i]].push_back(i);
  timings["read"] += clock_seconds_since(t);

  // 2. Edit each track's latents, then smooth the residual over time.
  t = clock_steady_seconds();
  std::vector<float> edited = r.latents;
  const size_t S = s.steps.size();
  std::vector<int64_t> track_ids;
  std::vector<float> track_g, track_achieved;
  std::vector<int64_t> track_rows, track_capped;
  std::vector<int64_t> edited_rows;
  for (auto& [track, idx] : rows_of_track) {
    auto x = torch::empty({int64_t(idx.size()), D});
    for (size_t k = 0; k < idx.size(); ++k) std::copy_n(&r.latents[idx[k] * D], D, x.data_ptr<float>() + k * D);
    std::vector<CalibratedStep> cal;
    torch::Tensor y;
    try {
      y = strength_apply_track(*s.editor, *s.backbone, x, s.steps, s.strength, &cal).contiguous();
    } catch (const DataError& e) {
      throw DataError(fmt::format("{}: track {}: {}", path, track, e.what()));
    }
    for (size_t k = 0; k < idx.size(); ++k) std::copy_n(y.data_ptr<float>() + k * D, D, &edited[idx[k] * D]);
    smooth_residual(idx, r, r.latents, edited, s.smooth_sigma);
    track_ids.push_back(track), track_rows.push_back(int64_t(idx.size()));
    int64_t capped = 0;
    for (auto& c : cal) track_g.push_back(float(c.g)), track_achieved.push_back(float(c.achieved)), capped |= c.capped;
    track_capped.push_back(capped);
    edited_rows.insert(edited_rows.end(), idx.begin(), idx.end());
  }
  std::sort(edited_rows.begin(), edited_rows.end());
  timings["transform"] += clock_seconds_since(t);

  // 3. The decoder: the store's backbone, or for the landmark backbone one whose crop matches the faces' size (the
  // crop is resampled twice, into the crop and back: at about the face's own resolution neither loses detail).
  std::unique_ptr<Backbone> landmark;
  const Backbone* decoder = s.backbone;
  if (s.landmark_backbone) {
    landmark = landmark_backbone_create(s.crop_size > 0 ? s.crop_size : auto_crop_size(r, edited_rows));
    decoder = landmark.get();
  }
  const int crop = decoder->info().crop_size;
  std::map<int64_t, std::vector<int64_t>> rows_of_frame;
  for (int64_t i : edited_rows) rows_of_frame[r.frame[i]].push_back(i);

  // 4. Decode, edit the faces of each frame, encode.
  t = clock_steady_seconds();
  VideoReader reader(path, s.limits);
  const VideoInfo vinfo = reader.info();
  VideoWriterOptions wo = video_writer_options_like(vinfo);
  wo.codec = s.encode.codec, wo.crf = s.encode.crf, wo.preset = s.encode.preset, wo.threads = s.encode.threads;
  wo.limits = s.limits;
  wo.container = s.extension;
  const std::string video_name = fmt::format("{}/{}.{}", k_edit_video_dir, id, s.extension);
  VideoWriter writer(ctx.work().path_for(video_name).string(), wo);
  std::unique_ptr<VideoWriter> preview;
  if (s.preview) {
    VideoWriterOptions po = wo;
    po.codec = "h264", po.container = "mp4";
    preview = std::make_unique<VideoWriter>(ctx.work().path_for(fmt::format("{}/{}.mp4", k_edit_preview_dir, id)).string(), po);
  }
  timings["decode"] += clock_seconds_since(t);
  std::vector<int64_t> mask_rect(size_t(r.n) * 4, 0);
  Frame frame, original;
  int64_t frames = 0, frames_edited = 0, faces_edited = 0;
  for (;;) {
    t = clock_steady_seconds();
    if (!reader.next(frame)) break;
    timings["decode"] += clock_seconds_since(t);
    ++frames;
    auto it = rows_of_frame.find(frame.index);
    const bool has_edit = it != rows_of_frame.end();
    if (has_edit || preview) original = frame;
    if (has_edit) {
      ++frames_edited;
      for (int64_t i : it->second) {
        // Every face is cut from the source frame, so faces that overlap are edited independently.
        t = clock_steady_seconds();
        const FaceQuad quad = quad_of(r, i);
        const Image crop_source = face_crop_aligned(original.view(), quad, crop);
        timings["crop"] += clock_seconds_since(t);
        t = clock_steady_seconds();
        const Image crop_edited = decoder->decode(&edited[i * D], &r.latents[i * D], crop_source.view());
        timings["warp"] += clock_seconds_since(t);
        t = clock_steady_seconds();
        std::vector<FacePoint> hull(68);
        for (int p = 0; p < 68; ++p) hull[p] = {r.landmarks[i * 136 + 2 * p], r.landmarks[i * 136 + 2 * p + 1]};
        if (s.landmark_backbone)  // the edited landmarks, back in the frame: the mask covers where they moved to
          for (int p = 0; p < 68; ++p)
            hull.push_back(face_quad_to_frame(quad, 1, {edited[i * D + 2 * p], edited[i * D + 2 * p + 1]}));
        const FaceBlendMask mask = face_blend_mask(frame.width, frame.height, hull, quad, s.paste);
        face_paste_masked(frame, crop_edited.view(), quad, mask);
        mask_rect[i * 4] = mask.x0, mask_rect[i * 4 + 1] = mask.y0, mask_rect[i * 4 + 2] = mask.width,
                      mask_rect[i * 4 + 3] = mask.height;
        timings["paste"] += clock_seconds_since(t);
        ++faces_edited;
      }
    }
    t = clock_steady_seconds();
    writer.write(frame);
    timings["encode"] += clock_seconds_since(t);
    if (preview) {
      t = clock_steady_seconds();
      preview->write(change_preview(original, frame, s.preview_options));
      timings["preview"] += clock_seconds_since(t);
    }
    if (s.test_delay_ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(s.test_delay_ms));
    ctx.poll();
  }
  if (frames == 0) throw DataError(fmt::format("{}: no frame could be decoded", path));
  const int64_t last_row_frame = r.n > 0 ? *std::max_element(r.frame.begin(), r.frame.end()) : -1;
  if (last_row_frame >= frames)
    throw DataError(fmt::format("{}: decodes to {} frames, but the store has faces up to frame {} (the file was "
                                "truncated since ingest?)", path, frames, last_row_frame));
  t = clock_steady_seconds();
  writer.close();
  if (preview) preview->close();
  timings["encode"] += clock_seconds_since(t);

  // 5. The edited-latents file: one row per edited face and frame.
  t = clock_steady_seconds();
  const int64_t n = int64_t(edited_rows.size());
  const bool has_measures = s.backbone->has_measures();
  auto gather_f = [&](const std::vector<float>& src, int64_t width) {
    std::vector<float> out(size_t(n) * width);
    for (int64_t k = 0; k < n; ++k) std::copy_n(&src[edited_rows[k] * width], width, &out[k * width]);
    return out;
  };
  auto gather_i = [&](const std::vector<int64_t>& src, int64_t width) {
    std::vector<int64_t> out(size_t(n) * width);
    for (int64_t k = 0; k < n; ++k) std::copy_n(&src[edited_rows[k] * width], width, &out[k * width]);
    return out;
  };
  RowFileWriter w(ctx.work().path_for(fmt::format("{}/{}.h5", k_edit_latents_dir, id)), k_store_schema,
                  k_store_schema_version, edit_video_columns(s.store->latent_shape(), A, has_measures));
  w.set_attr_int64s("latent_shape", s.store->latent_shape());
  w.write_strings(k_ds_attribute_names, s.store->attribute_names());  // a latent store of its own, too
  w.set_attr_string("source_video", path);
  w.set_attr_string("edited_video", video_name);
  w.set_attr_int64s("crop_size", {crop});
  if (n > 0) {
    const std::vector<float> z_edit = gather_f(edited, D), z_src = gather_f(r.latents, D);
    w.append(k_col_latents, z_edit.data(), n);
    w.append(k_col_labels, gather_f(r.labels, A).data(), n);
    w.append(k_col_video_index, std::vector<int64_t>(size_t(n), source.video).data(), n);
    w.append(k_col_frame_index, gather_i(r.frame, 1).data(), n);
    std::vector<int64_t> src_row(n), attr(n, S == 1 ? s.steps[0].attribute : -1);
    std::vector<float> strength(n, std::nanf(""));
    std::map<int64_t, size_t> track_pos;
    for (size_t k = 0; k < track_ids.size(); ++k) track_pos[track_ids[k]] = k;
    for (int64_t k = 0; k < n; ++k) {
      src_row[k] = source.rows[size_t(edited_rows[k])];
      if (S == 1) strength[k] = track_g[track_pos[r.track[edited_rows[k]]]];
    }
    w.append("edit/source_row", src_row.data(), n);
    w.append("edit/attribute", attr.data(), n);
    w.append("edit/strength", strength.data(), n);
    w.append("source_latents", z_src.data(), n);
    w.append("side/track_id", gather_i(r.track, 1).data(), n);
    w.append("side/time_us", gather_i(r.time_us, 1).data(), n);
    w.append("side/quad", gather_f(r.quads, 8).data(), n);
    w.append("side/landmarks", gather_f(r.landmarks, 136).data(), n);
    w.append("side/mask_rect", gather_i(mask_rect, 4).data(), n);
    if (has_measures) {
      w.append("measures", s.backbone->measure(z_edit.data(), n).data(), n);
      w.append("source_measures", s.backbone->measure(z_src.data(), n).data(), n);
    }
  }
  // The recipe as applied: per track, the editor strength of each step and the mean measure change it made.
  std::vector<std::string> step_names;
  std::vector<float> step_targets;
  for (auto& st : s.steps) step_names.push_back(st.name), step_targets.push_back(float(st.target));
  w.write_strings("recipe/attribute_names", step_names);
  w.write_array_f32("recipe/target", {int64_t(S)}, step_targets.data());
  w.set_attr_string("recipe_units", s.strength.units);
  const int64_t T = int64_t(track_ids.size());
  if (T > 0) {
    w.write_array_i64("tracks/id", {T}, track_ids.data());
    w.write_array_i64("tracks/rows", {T}, track_rows.data());
    w.write_array_i64("tracks/capped", {T}, track_capped.data());
    w.write_array_f32("tracks/strength", {T, int64_t(S)}, track_g.data());
    w.write_array_f32("tracks/achieved", {T, int64_t(S)}, track_achieved.data());
  }
  edit_write_routing(w, *s.editor);
  w.finalize();
  timings["write"] += clock_seconds_since(t);

  auto& info = ctx.info();
  info["video"] = source.video;
  info["path"] = path;
  info["edited_video"] = video_name;
  info["frames"] = frames;
  info["frames_edited"] = frames_edited;
  info["faces_edited"] = faces_edited;
  info["tracks"] = track_ids;
  info["strengths"] = track_g;
  info["achieved"] = track_achieved;
  info["capped"] = track_capped;
  info["crop_size"] = crop;
  info["fps"] = vinfo.fps;
  info["width"] = vinfo.width;
  info["height"] = vinfo.height;
  info["audio"] = !vinfo.audio.empty();
  info["decode_errors"] = reader.decode_errors();
}

}  // namespace s3e
