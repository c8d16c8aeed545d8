#include "pipeline/ingest_item.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <deque>
#include <limits>
#include <map>

#include "core/clock_text.h"
#include "core/errors.h"
#include "dist/sha256.h"
#include "face/face_align.h"
#include "face/face_crops.h"
#include "media/video_reader.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {


// Where one kept face of one frame ends up.
struct RowRef {
  size_t frame;  // position in the tracker's frames
  size_t face;   // position in that frame's faces
};

}  // namespace

std::vector<ColumnSpec> ingest_item_columns(const IngestItemSettings& s) {
  const BackboneInfo& info = s.backbone->info();
  std::vector<ColumnSpec> c = {
      {k_col_latents, info.latent_shape, ColumnType::f32},   {k_col_frame_index, {}, ColumnType::i64},
      {"side/time_us", {}, ColumnType::i64},                 {"side/track", {}, ColumnType::i64},
      {"side/landmarks", {68, 2}, ColumnType::f32},          {"side/landmarks_raw", {68, 2}, ColumnType::f32},
      {"side/quad", {4, 2}, ColumnType::f32},                {"side/score", {}, ColumnType::f32},
      {"side/descriptor", {128}, ColumnType::f32},           {"side/flags", {}, ColumnType::i64}};
  if (s.backbone->has_measures()) c.push_back({"measures", {int64_t(info.attribute_names.size())}, ColumnType::f32});
  if (s.face_attributes) {
    c.push_back({"side/expressions", {k_face_expression_count}, ColumnType::f32});
    c.push_back({"side/age", {}, ColumnType::f32});
    c.push_back({"side/male_probability", {}, ColumnType::f32});
  }
  return c;
}

void ingest_item_run(const IngestItem& item, const IngestItemSettings& s, const fs::path& out, ItemContext& ctx) {
  if (!item.probe_error.empty()) throw DataError(item.probe_error);
  ItemTimings& timings = ctx.timings();
  const BackboneInfo& binfo = s.backbone->info();

  // 1. Decode the range and its context, track, and describe the faces of the range's own frames.
  auto t = clock_steady_seconds();
  VideoReader reader(item.path, s.limits);
  const VideoInfo vinfo = reader.info();
  const int64_t context_begin = std::max<int64_t>(0, item.begin_frame - item.context_frames);
  const int64_t context_end = item.end_frame < 0 ? std::numeric_limits<int64_t>::max() : item.end_frame + item.context_frames;
  if (context_begin > 0) reader.seek_frame(context_begin);
  timings["decode"] += clock_seconds_since(t);
  auto own = [&](int64_t index) { return index >= item.begin_frame && (item.end_frame < 0 || index < item.end_frame); };

  FaceTracker tracker(*s.models, s.tracker);
  std::vector<int64_t> frame_index, time_us;
  std::vector<std::vector<FaceDescriptor>> descriptors;
  std::vector<std::vector<FaceAttributes>> attributes;
  Frame frame;
  for (int64_t f = context_begin; f < context_end; ++f) {
    t = clock_steady_seconds();
    if (!reader.next(frame)) break;
    timings["decode"] += clock_seconds_since(t);
    t = clock_steady_seconds();
    const FaceModels::Seconds before = s.models->seconds();
    const TrackFrame& tf = tracker.push(frame.view());
    const FaceModels::Seconds after = s.models->seconds();
    // The tracker's time split into its nets and the rest (association, crop placement).
    timings["detect"] += after.detect - before.detect;
    timings["landmarks"] += after.landmarks - before.landmarks;
    timings["track"] += clock_seconds_since(t) - (after.detect - before.detect) - (after.landmarks - before.landmarks) -
                        (after.descriptors - before.descriptors);
    timings["describe"] += after.descriptors - before.descriptors;
    std::vector<FaceRect> dcrops, acrops;
    if (own(frame.index))
      for (auto& face : tf.faces) {
        const FaceNetCrops c = face_net_crops(face.landmarks, face.crop, frame.width, frame.height);
        dcrops.push_back(c.descriptor), acrops.push_back(c.attributes);
      }
    t = clock_steady_seconds();
    descriptors.push_back(s.models->descriptors(frame.view(), dcrops));
    timings["describe"] += clock_seconds_since(t);
    if (s.face_attributes) {
      t = clock_steady_seconds();
      attributes.push_back(s.models->attributes(frame.view(), acrops));
      timings["attributes"] += clock_seconds_since(t);
    }
    frame_index.push_back(frame.index);
    time_us.push_back(std::llround(frame.pts * 1e6));
    ctx.poll();
  }
  if (frame_index.empty())
    throw DataError(fmt::format("{}: no frame could be decoded from frame {} on", item.path, context_begin));
  // A stream that ends inside the range is truncated (the reader notices that itself only when it reads a file from
  // its start): the range fails rather than ingest part of it silently.
  if (item.end_frame >= 0 && frame_index.back() < item.end_frame - 1)
    throw DataError(fmt::format("{}: the video ends at frame {}, inside frames {}..{} it declares (truncated?)",
                                item.path, frame_index.back(), item.begin_frame, item.end_frame - 1));

  // 2. Smooth each track within its segments; choose the faces to keep.
  t = clock_steady_seconds();
  std::vector<TrackFrame>& frames = tracker.frames();
  track_smooth(frames, s.sigma_landmarks, s.sigma_quad);
  // Faces lower than min_face_px are not kept: the nets' landmarks and descriptors mean little there, and such
  // detections are mostly false (TinyFaceDetector finds a 10 px "face" in ffmpeg's testsrc pattern).
  auto big_enough = [&](const TrackedFace& face) { return face_landmarks_bbox(face.smoothed).height >= s.min_face_px; };
  std::map<int, double> area_of_track;  // summed landmark-box area over the range's own frames
  int64_t own_frames = 0, frames_with_face = 0, small_faces = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!own(frame_index[i])) continue;
    ++own_frames;
    bool any = false;
    for (auto& face : frames[i].faces) {
      if (!big_enough(face)) {
        ++small_faces;
        continue;
      }
      any = true;
      FaceBox b = face_landmarks_bbox(face.smoothed);
      area_of_track[face.track_id] += b.width * b.height;
    }
    if (any) ++frames_with_face;
  }
  int largest = -1;
  for (auto& [id, area] : area_of_track)
    if (largest < 0 || area > area_of_track[largest]) largest = id;
  auto keep = [&](int track) { return s.faces == "all" || track == largest; };
  std::vector<RowRef> rows;
  for (size_t i = 0; i < frames.size(); ++i)
    if (own(frame_index[i]))
      for (size_t k = 0; k < frames[i].faces.size(); ++k)
        if (keep(frames[i].faces[k].track_id) && big_enough(frames[i].faces[k])) rows.push_back({i, k});
  // An input without a face is not an error: its frames are simply not rows (the video table says "no face", and
  // `edit --videos` passes its frames through unchanged). Logged, since a training set rarely means to hold one.
  if (rows.empty() && item.ranges == 1)
    spdlog::warn("ingest: {}: no face found in {} frame(s){}", item.path, own_frames,
                 small_faces ? fmt::format(" ({} face(s) lower than ingest.min_face_px = {} ignored)", small_faces,
                                           s.min_face_px)
                             : "");

  // 3. Align: the landmarks in the aligned crop of each kept face.
  const int crop = binfo.crop_size;
  std::vector<BackboneFace> faces(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const TrackedFace& face = frames[rows[r].frame].faces[rows[r].face];
    for (int p = 0; p < 68; ++p) faces[r].landmarks[p] = face_quad_to_crop(face.quad, crop, face.smoothed[p]);
  }
  timings["align"] += clock_seconds_since(t);

  // 4. Encode. Backbones that read pixels get the aligned crops from a second decode of the range.
  const int64_t D = binfo.latent_dim();
  std::vector<float> latents;
  latents.reserve(rows.size() * D);
  if (!binfo.needs_crop) {
    t = clock_steady_seconds();
    latents = s.backbone->encode(faces);
    timings["encode"] += clock_seconds_since(t);
  } else if (!rows.empty()) {
    t = clock_steady_seconds();
    reader.seek_frame(frame_index[rows.front().frame]);
    timings["decode"] += clock_seconds_since(t);
    std::deque<Image> crops;  // a deque: the views in `batch` stay valid as crops are added
    std::vector<BackboneFace> batch;
    auto flush = [&] {
      auto t0 = clock_steady_seconds();
      auto z = s.backbone->encode(batch);
      latents.insert(latents.end(), z.begin(), z.end());
      timings["encode"] += clock_seconds_since(t0);
      crops.clear(), batch.clear();
    };
    size_t r = 0;
    while (r < rows.size()) {
      t = clock_steady_seconds();
      if (!reader.next(frame)) throw DataError(fmt::format("{}: frame {} could not be decoded again", item.path, frame_index[rows[r].frame]));
      timings["decode"] += clock_seconds_since(t);
      if (frame.index != frame_index[rows[r].frame]) continue;
      t = clock_steady_seconds();
      for (; r < rows.size() && frame_index[rows[r].frame] == frame.index; ++r) {
        crops.push_back(face_crop_aligned(frame.view(), frames[rows[r].frame].faces[rows[r].face].quad, crop));
        faces[r].crop = crops.back().view();
        batch.push_back(faces[r]);
      }
      timings["align"] += clock_seconds_since(t);
      if (int(batch.size()) >= s.encode_batch) flush();
      ctx.poll();
    }
    if (!batch.empty()) flush();
  }

  // 5. Write the item file.
  t = clock_steady_seconds();
  const int64_t n = int64_t(rows.size());
  std::vector<int64_t> row_frame(n), row_time(n), row_track(n), row_flags(n);
  std::vector<float> landmarks(n * 136), raw(n * 136), quads(n * 8), scores(n), desc(n * 128);
  std::vector<float> expressions, ages, males;
  for (int64_t r = 0; r < n; ++r) {
    const TrackFrame& tf = frames[rows[r].frame];
    const TrackedFace& face = tf.faces[rows[r].face];
    row_frame[r] = frame_index[rows[r].frame];
    row_time[r] = time_us[rows[r].frame];
    row_track[r] = face.track_id;
    row_flags[r] = (face.detected ? 0 : k_flag_tracked) | (tf.shot_cut ? k_flag_shot_cut : 0) |
                   (tf.detector_ran ? k_flag_detector_ran : 0);
    for (int p = 0; p < 68; ++p) {
      landmarks[r * 136 + 2 * p] = float(face.smoothed[p].x), landmarks[r * 136 + 2 * p + 1] = float(face.smoothed[p].y);
      raw[r * 136 + 2 * p] = float(face.landmarks[p].x), raw[r * 136 + 2 * p + 1] = float(face.landmarks[p].y);
    }
    for (int c = 0; c < 4; ++c) quads[r * 8 + 2 * c] = float(face.quad.corners[c].x), quads[r * 8 + 2 * c + 1] = float(face.quad.corners[c].y);
    scores[r] = face.detected ? float(face.score) : std::nanf("");
    const FaceDescriptor& d = descriptors[rows[r].frame][rows[r].face];
    std::copy(d.begin(), d.end(), desc.begin() + r * 128);
    if (s.face_attributes) {
      const FaceAttributes& a = attributes[rows[r].frame][rows[r].face];
      expressions.insert(expressions.end(), a.expressions.begin(), a.expressions.end());
      ages.push_back(a.age), males.push_back(a.male_probability);
    }
  }
  RowFileWriter w(out, k_ingest_item_schema, k_ingest_item_schema_version, ingest_item_columns(s));
  w.set_attr_int64s("latent_shape", binfo.latent_shape);
  w.set_attr_string("input_path", item.path);
  w.set_attr_int64s("range", {item.range, item.ranges, item.begin_frame, item.end_frame});
  if (n > 0) {
    w.append(k_col_latents, latents.data(), n);
    w.append(k_col_frame_index, row_frame.data(), n);
    w.append("side/time_us", row_time.data(), n);
    w.append("side/track", row_track.data(), n);
    w.append("side/landmarks", landmarks.data(), n);
    w.append("side/landmarks_raw", raw.data(), n);
    w.append("side/quad", quads.data(), n);
    w.append("side/score", scores.data(), n);
    w.append("side/descriptor", desc.data(), n);
    w.append("side/flags", row_flags.data(), n);
    if (s.backbone->has_measures()) {
      auto m = s.backbone->measure(latents.data(), n);
      w.append("measures", m.data(), n);
    }
    if (s.face_attributes) {
      w.append("side/expressions", expressions.data(), n);
      w.append("side/age", ages.data(), n);
      w.append("side/male_probability", males.data(), n);
    }
  }
  // Every frame of the range, with or without a face.
  std::vector<int64_t> f_index, f_time, f_faces, f_flags;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!own(frame_index[i])) continue;
    const TrackFrame& tf = frames[i];
    f_index.push_back(frame_index[i]);
    f_time.push_back(time_us[i]);
    int64_t faces_here = 0;
    for (auto& face : tf.faces) faces_here += big_enough(face) ? 1 : 0;
    f_faces.push_back(faces_here);
    f_flags.push_back((faces_here == 0 ? k_flag_no_face : 0) | (faces_here > 1 ? k_flag_several_faces : 0) |
                      (tf.shot_cut ? k_flag_shot_cut : 0) | (tf.detector_ran ? k_flag_detector_ran : 0));
  }
  const int64_t F = int64_t(f_index.size());
  if (F > 0) {
    w.write_array_i64("frames/index", {F}, f_index.data());
    w.write_array_i64("frames/time_us", {F}, f_time.data());
    w.write_array_i64("frames/faces", {F}, f_faces.data());
    w.write_array_i64("frames/flags", {F}, f_flags.data());
  }
  // The kept tracks, with their identity (for joining tracks across the ranges of one video).
  std::map<int, int64_t> rows_of_track;
  for (int64_t r = 0; r < n; ++r) ++rows_of_track[int(row_track[r])];
  std::vector<int64_t> track_ids, track_rows;
  std::vector<float> track_desc;
  for (auto& [id, count] : rows_of_track) {
    const FaceTrack& tr = tracker.tracks()[size_t(id)];
    FaceDescriptor mean = tr.descriptor;
    if (tr.descriptor_count == 0) {  // never detected inside this item: the mean of its rows' descriptors
      mean.fill(0);
      for (int64_t r = 0; r < n; ++r)
        if (row_track[r] == id)
          for (int k = 0; k < 128; ++k) mean[k] += desc[r * 128 + k] / float(count);
    }
    track_ids.push_back(id), track_rows.push_back(count);
    track_desc.insert(track_desc.end(), mean.begin(), mean.end());
  }
  const int64_t T = int64_t(track_ids.size());
  if (T > 0) {
    w.write_array_i64("tracks/id", {T}, track_ids.data());
    w.write_array_i64("tracks/rows", {T}, track_rows.data());
    w.write_array_f32("tracks/descriptor", {T, 128}, track_desc.data());
  }
  w.finalize();
  timings["write"] += clock_seconds_since(t);

  auto& info = ctx.info();
  info["input"] = item.input;
  info["path"] = item.path;
  info["range"] = item.range;
  info["ranges"] = item.ranges;
  info["begin_frame"] = item.begin_frame;
  info["frames"] = F;
  info["frames_with_face"] = frames_with_face;
  info["small_faces_ignored"] = small_faces;
  info["rows"] = n;
  info["tracks"] = T;
  info["tracks_seen"] = tracker.tracks().size();
  info["width"] = vinfo.width;
  info["height"] = vinfo.height;
  info["fps"] = vinfo.fps;
  info["duration_s"] = vinfo.duration_s;
  info["is_image"] = item.is_image;
  info["decode_errors"] = reader.decode_errors();
  if (item.range == 0) {  // one hash per input, by the item that starts it
    t = clock_steady_seconds();
    info["sha256"] = sha256_file(item.path);
    timings["hash"] += clock_seconds_since(t);
  }
}

}  // namespace s3e
