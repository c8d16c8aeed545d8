#include "pipeline/eval_video_item.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "backbone/landmark_attributes.h"
#include "core/clock_text.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "face/face_align.h"
#include "face/face_crops.h"
#include "face/face_identity.h"
#include "media/video_reader.h"
#include "metrics/video_metrics.h"
#include "metrics/video_metrics_report.h"
#include "store/latent_store.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// What the edited-latents file of a video says about the edit: one row per edited face and frame.
struct EditedRows {
  int64_t n = 0;
  std::vector<int64_t> frame, track, time_us, mask_rect;  // mask_rect: [n, 4]
  std::vector<float> landmarks, quad;                     // [n, 68, 2], [n, 4, 2] (frame pixels)
  std::vector<std::string> steps;                         // recipe attributes
  std::vector<double> asked;                              // per step, in measure units
};

EditedRows edited_rows_read(const std::string& path) {
  LatentStore f(path, k_store_schema);
  EditedRows e;
  e.n = f.size();
  auto i64 = [&](const char* column, int64_t width) {
    std::vector<int64_t> v(size_t(e.n * width));
    if (e.n > 0) f.read_range_i64(column, 0, e.n, v.data());
    return v;
  };
  auto f32 = [&](const char* column, int64_t width) {
    std::vector<float> v(size_t(e.n * width));
    if (e.n > 0) f.read_range_f32(column, 0, e.n, v.data());
    return v;
  };
  for (auto* column : {"side/track_id", "side/time_us", "side/mask_rect", "side/landmarks", "side/quad"})
    if (!f.has_column(column))
      throw DataError(fmt::format("{}: no column {} (not an edited-latents file of edit --videos)", path, column));
  e.frame = i64(k_col_frame_index, 1);
  e.track = i64("side/track_id", 1);
  e.time_us = i64("side/time_us", 1);
  e.mask_rect = i64("side/mask_rect", 4);
  e.landmarks = f32("side/landmarks", 136);
  e.quad = f32("side/quad", 8);
  e.steps = f.read_strings("recipe/attribute_names");
  const std::vector<float> target = f.read_array_f32("recipe/target");
  const std::string units = f.attribute_text("recipe_units");
  if (target.size() != e.steps.size())
    throw DataError(fmt::format("{}: recipe/target has {} values for {} attributes", path, target.size(), e.steps.size()));
  if (units == "measure") {
    e.asked.assign(target.begin(), target.end());
  } else {
    // Editor units: what was asked in measure units is what the edit made in latent space, per track.
    const auto rows = f.read_array_i64("tracks/rows");
    const auto achieved = f.read_array_f32("tracks/achieved");
    const size_t S = e.steps.size();
    for (size_t s = 0; s < S; ++s) {
      double sum = 0, weight = 0;
      for (size_t t = 0; t < rows.size(); ++t)
        if (std::isfinite(achieved[t * S + s])) sum += achieved[t * S + s] * double(rows[t]), weight += double(rows[t]);
      e.asked.push_back(weight > 0 ? sum / weight : k_nan);
    }
  }
  return e;
}

FaceLandmarks landmarks_of_row(const EditedRows& e, int64_t r) {
  FaceLandmarks l;
  for (int i = 0; i < 68; ++i) l[size_t(i)] = {e.landmarks[size_t(r * 136 + 2 * i)], e.landmarks[size_t(r * 136 + 2 * i + 1)]};
  return l;
}

FaceQuad quad_of_row(const EditedRows& e, int64_t r) {
  FaceQuad q;
  for (int i = 0; i < 4; ++i) q.corners[size_t(i)] = {e.quad[size_t(r * 8 + 2 * i)], e.quad[size_t(r * 8 + 2 * i + 1)]};
  return q;
}

// The detection whose landmark box overlaps `target` most (at least min_overlap), or -1.
int best_match(const std::vector<FaceRecord>& faces, const FaceBox& target, double min_overlap) {
  int best = -1;
  double best_iou = min_overlap;
  for (size_t i = 0; i < faces.size(); ++i) {
    const double iou = face_box_iou(face_landmarks_bbox(faces[i].landmarks), target);
    if (iou >= best_iou) best = int(i), best_iou = iou;
  }
  return best;
}

// What both sides showed at one edited row.
struct RowObservation {
  bool source_found = false, edited_found = false;
  FaceRecord source, edited;
  std::vector<float> source_descriptor, edited_descriptor;
  PixelChange pixels;
  double flicker = k_nan, residual = k_nan;
  bool matched() const { return source_found && edited_found; }
};

// Points of the target regions of the recipe's attributes (all 68 false when none is a landmark measure).
std::vector<bool> target_points(const std::vector<int>& step_attribute) {
  std::vector<bool> in(68, false);
  const auto& attributes = landmark_attributes();
  for (int a : step_attribute) {
    if (a < 0) continue;
    for (int i = 0; i < 68; ++i)
      for (FaceRegion region : attributes[size_t(a)].regions)
        if (face_region_of_point(i) == region) in[size_t(i)] = true;
  }
  return in;
}

// Full-frame mask of the target regions: the hull of their points on both sides, grown by 5% of the quad's side.
std::vector<uint8_t> target_mask(int width, int height, const std::vector<bool>& in_target,
                                 const std::vector<const FaceLandmarks*>& sides, const FaceQuad& quad) {
  std::vector<uint8_t> mask(size_t(width) * size_t(height), 0);
  std::vector<FacePoint> points;
  for (auto* l : sides)
    for (int i = 0; i < 68; ++i)
      if (in_target[size_t(i)]) points.push_back((*l)[size_t(i)]);
  if (points.size() < 3) return mask;
  const FaceBlendMask m = face_blend_mask(width, height, points, quad, FacePasteOptions{0.05, 0.0});
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x)
      if (m.alpha[size_t(y) * size_t(m.width) + size_t(x)] > 0)
        mask[size_t(y + m.y0) * size_t(width) + size_t(x + m.x0)] = 1;
  return mask;
}

// The union of two x0, y0, width, height rectangles.
std::array<int64_t, 4> rect_union(const int64_t* a, const int64_t* b) {
  const int64_t x0 = std::min(a[0], b[0]), y0 = std::min(a[1], b[1]);
  const int64_t x1 = std::max(a[0] + a[2], b[0] + b[2]), y1 = std::max(a[1] + a[3], b[1] + b[3]);
  return {x0, y0, x1 - x0, y1 - y0};
}

// Geometric measures [rows, A] of landmark sets (frame pixels).
std::vector<float> measures_of(const std::vector<const FaceLandmarks*>& sets) {
  if (sets.empty()) return {};
  auto points = torch::empty({int64_t(sets.size()), 68, 2}, torch::kDouble);
  auto p = points.accessor<double, 3>();
  for (size_t r = 0; r < sets.size(); ++r)
    for (int i = 0; i < 68; ++i) p[int64_t(r)][i][0] = (*sets[r])[size_t(i)].x, p[int64_t(r)][i][1] = (*sets[r])[size_t(i)].y;
  torch::NoGradGuard no_grad;
  torch::Tensor m = landmark_measures(points).to(torch::kFloat).contiguous();
  return std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
}

}  // namespace

nlohmann::json eval_video_item_run(const VideoEvalSource& source, const VideoEvalSettings& s, const std::string& id,
                                   ItemContext& ctx) {
  ItemTimings& timings = ctx.timings();
  nlohmann::json out;
  out["video"] = id;
  out["source"] = source.source;
  out["edited_video"] = source.edited_video;
  out["evaluated"] = false;
  auto write = [&] {
    file_write_atomic(ctx.work().path_for(fmt::format("{}/{}.json", k_eval_video_dir, id)), out.dump(1) + "\n");
    return out;
  };
  if (source.edit_status != "done") {
    // Not an error of this stage: the edit's own ledger says why; the video is listed, not judged.
    out["status"] = "not edited: " + source.edit_status;
    return write();
  }
  double t = clock_steady_seconds();
  const EditedRows e = edited_rows_read(source.edited_latents);
  timings["read"] += clock_seconds_since(t);
  std::map<int64_t, std::vector<int64_t>> rows_of_frame;
  for (int64_t r = 0; r < e.n; ++r) rows_of_frame[e.frame[size_t(r)]].push_back(r);

  const auto& attributes = landmark_attributes();
  std::vector<int> step_attribute;
  for (auto& name : e.steps) {
    int a = -1;
    for (size_t k = 0; k < attributes.size(); ++k)
      if (attributes[k].name == name) a = int(k);
    step_attribute.push_back(a);
  }
  const std::vector<bool> in_target = target_points(step_attribute);

  // 1. Both videos in lockstep; the face nets on every frame with an edited face.
  VideoReader source_reader(source.source, s.limits), edited_reader(source.edited_video, s.limits);
  Frame src, edit, prev_src, prev_edit;
  std::vector<RowObservation> obs(size_t(e.n));
  std::map<int64_t, int64_t> last_row_of_track;  // track -> its row on the previous frame it appeared in
  int64_t frames = 0;
  for (;;) {
    t = clock_steady_seconds();
    if (!source_reader.next(src)) break;
    if (!edited_reader.next(edit))
      throw DataError(fmt::format("{}: ends after {} frames, but its source {} has more", source.edited_video, frames,
                                  source.source));
    timings["decode"] += clock_seconds_since(t);
    if (src.width != edit.width || src.height != edit.height)
      throw DataError(fmt::format("{}: frame {} is {}x{}, its source's {}x{}", source.edited_video, frames, edit.width,
                                  edit.height, src.width, src.height));
    ++frames;
    auto here = rows_of_frame.find(src.index);
    if (here != rows_of_frame.end()) {
      t = clock_steady_seconds();
      const std::vector<FaceRecord> src_faces = s.models->analyze(src.view());
      const std::vector<FaceRecord> edit_faces = s.models->analyze(edit.view());
      timings["face nets"] += clock_seconds_since(t);
      t = clock_steady_seconds();
      std::vector<FaceRecord> src_matched, edit_matched;
      std::vector<int64_t> matched_rows;
      for (int64_t r : here->second) {
        RowObservation& o = obs[size_t(r)];
        const FaceLandmarks row_landmarks = landmarks_of_row(e, r);
        const FaceBox target = face_landmarks_bbox(row_landmarks);
        const int a = best_match(src_faces, target, s.min_overlap), b = best_match(edit_faces, target, s.min_overlap);
        o.source_found = a >= 0, o.edited_found = b >= 0;
        if (a >= 0) o.source = src_faces[size_t(a)];
        if (b >= 0) o.edited = edit_faces[size_t(b)];
        if (o.matched()) src_matched.push_back(o.source), edit_matched.push_back(o.edited), matched_rows.push_back(r);
        // The pixel change inside the rectangle the edit could touch, and its share in the target regions.
        std::vector<const FaceLandmarks*> sides = {&row_landmarks};
        if (o.source_found) sides.push_back(&o.source.landmarks);
        if (o.edited_found) sides.push_back(&o.edited.landmarks);
        const int64_t* rect = &e.mask_rect[size_t(r * 4)];
        o.pixels = pixel_change(src, edit, rect,
                                target_mask(src.width, src.height, in_target, sides, quad_of_row(e, r)), s.pixel_noise);
        auto last = last_row_of_track.find(e.track[size_t(r)]);
        if (last != last_row_of_track.end() && e.frame[size_t(last->second)] == src.index - 1) {
          const auto u = rect_union(rect, &e.mask_rect[size_t(last->second * 4)]);
          const ResidualChange c = residual_change(prev_src, prev_edit, src, edit, u.data());
          o.flicker = c.flicker, o.residual = c.residual;
        }
        last_row_of_track[e.track[size_t(r)]] = r;
      }
      timings["pixels"] += clock_seconds_since(t);
      t = clock_steady_seconds();
      const std::vector<float> ds = s.identity->describe(src.view(), src_matched);
      const std::vector<float> de = s.identity->describe(edit.view(), edit_matched);
      const int64_t dim = s.identity->dim();
      for (size_t k = 0; k < matched_rows.size(); ++k) {
        RowObservation& o = obs[size_t(matched_rows[k])];
        o.source_descriptor.assign(ds.begin() + int64_t(k) * dim, ds.begin() + int64_t(k + 1) * dim);
        o.edited_descriptor.assign(de.begin() + int64_t(k) * dim, de.begin() + int64_t(k + 1) * dim);
      }
      timings["identity"] += clock_seconds_since(t);
    }
    ctx.poll();
    std::swap(prev_src, src), std::swap(prev_edit, edit);
  }
  if (edited_reader.next(edit))
    throw DataError(fmt::format("{}: has more frames than its source {} ({})", source.edited_video, source.source, frames));
  for (auto& [frame, rows] : rows_of_frame)
    if (frame >= frames)
      throw DataError(fmt::format("{}: edited rows at frame {}, but {} has {} frames", source.edited_latents, frame,
                                  source.source, frames));

  // 2. Per row: identity and measures; per track: TL-ID, TG-ID, jitter.
  t = clock_steady_seconds();
  std::vector<int64_t> matched;
  int64_t no_source = 0, no_edited = 0, no_face = 0;
  for (int64_t r = 0; r < e.n; ++r) {
    const RowObservation& o = obs[size_t(r)];
    no_source += o.source_found ? 0 : 1, no_edited += o.edited_found ? 0 : 1, no_face += o.matched() ? 0 : 1;
    if (o.matched()) matched.push_back(r);
  }
  const std::vector<float>& mean = s.identity->mean();
  const DescriptorSimilarity centred = mean.empty() ? DescriptorSimilarity::cosine : DescriptorSimilarity::cosine_centred;
  const int64_t dim = s.identity->dim();
  std::vector<double> id_of_row(size_t(e.n), k_nan), id_raw(size_t(e.n), k_nan), id_euclidean(size_t(e.n), k_nan);
  for (int64_t r : matched) {
    const RowObservation& o = obs[size_t(r)];
    id_of_row[size_t(r)] = descriptor_similarity(o.edited_descriptor.data(), o.source_descriptor.data(), dim, centred, mean);
    id_raw[size_t(r)] = descriptor_similarity(o.edited_descriptor.data(), o.source_descriptor.data(), dim,
                                              DescriptorSimilarity::cosine, mean);
    double d2 = 0;
    for (int64_t k = 0; k < dim; ++k) d2 += std::pow(double(o.edited_descriptor[size_t(k)]) - o.source_descriptor[size_t(k)], 2);
    id_euclidean[size_t(r)] = std::sqrt(d2);
  }

  std::map<int64_t, std::vector<int64_t>> rows_of_track;  // matched rows, in frame order
  for (int64_t r : matched) rows_of_track[e.track[size_t(r)]].push_back(r);
  double tl_sum = 0, tg_sum = 0, tl_raw_sum = 0, tg_raw_sum = 0;
  int64_t tl_pairs = 0, tg_pairs = 0, tl_raw_pairs = 0, tg_raw_pairs = 0, excluded = 0;
  std::vector<double> tl_of_row(size_t(e.n), k_nan), jitter_source, jitter_edited;
  for (auto& [track, rows] : rows_of_track) {
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return e.frame[size_t(a)] < e.frame[size_t(b)]; });
    std::vector<int64_t> frame_index;
    std::vector<FaceLandmarks> ls, le;
    for (int64_t r : rows)
      frame_index.push_back(e.frame[size_t(r)]), ls.push_back(obs[size_t(r)].source.landmarks),
          le.push_back(obs[size_t(r)].edited.landmarks);
    auto similarity = [&](DescriptorSimilarity kind) -> PairSimilarity {
      return [&, kind](int64_t i, int64_t j) {
        const RowObservation &a = obs[size_t(rows[size_t(i)])], &b = obs[size_t(rows[size_t(j)])];
        return std::make_pair(descriptor_similarity(a.source_descriptor.data(), b.source_descriptor.data(), dim, kind, mean),
                              descriptor_similarity(a.edited_descriptor.data(), b.edited_descriptor.data(), dim, kind, mean));
      };
    };
    const TemporalIdentity c = temporal_identity(similarity(centred), frame_index, s.min_similarity, s.tg_max_frames);
    const TemporalIdentity w = temporal_identity(similarity(DescriptorSimilarity::cosine), frame_index,
                                                 s.min_similarity, s.tg_max_frames);
    // Pairs pool over the video's tracks: each pair of frames of one face counts once.
    tl_sum += c.tl_pairs ? c.tl_id * double(c.tl_pairs) : 0, tl_pairs += c.tl_pairs;
    tg_sum += c.tg_pairs ? c.tg_id * double(c.tg_pairs) : 0, tg_pairs += c.tg_pairs;
    tl_raw_sum += w.tl_pairs ? w.tl_id * double(w.tl_pairs) : 0, tl_raw_pairs += w.tl_pairs;
    tg_raw_sum += w.tg_pairs ? w.tg_id * double(w.tg_pairs) : 0, tg_raw_pairs += w.tg_pairs;
    excluded += c.tl_excluded + c.tg_excluded;
    for (size_t k = 0; k < rows.size(); ++k) tl_of_row[size_t(rows[k])] = c.tl_per_frame[k];
    jitter_source.push_back(landmark_sequence_jitter(ls, frame_index));
    jitter_edited.push_back(landmark_sequence_jitter(le, frame_index));
  }
  auto ratio = [](double sum, int64_t n) { return n ? sum / double(n) : k_nan; };

  // Measures of the re-detected landmarks on both sides: faithfulness, success, preservation.
  std::vector<const FaceLandmarks*> sets;
  for (int64_t r : matched) sets.push_back(&obs[size_t(r)].source.landmarks);
  for (int64_t r : matched) sets.push_back(&obs[size_t(r)].edited.landmarks);
  const std::vector<float> m = measures_of(sets);
  const size_t A = attributes.size(), M = matched.size();
  auto delta = [&](size_t k, size_t a) { return double(m[(M + k) * A + a]) - double(m[k * A + a]); };
  nlohmann::json per_attribute = nlohmann::json::object();
  std::vector<double> faithfulness, success;
  std::vector<bool> is_target_attribute(A, false);
  std::vector<double> achieved_of_row(size_t(e.n), k_nan);
  for (size_t st = 0; st < e.steps.size(); ++st) {
    const int a = step_attribute[st];
    nlohmann::json j;
    j["asked"] = json_number_or_null(e.asked[st]);
    if (a < 0 || M == 0) {
      j["achieved"] = nullptr, j["success_rate"] = nullptr;
      per_attribute[e.steps[st]] = j;
      continue;
    }
    is_target_attribute[size_t(a)] = true;
    double sum = 0;
    int64_t hits = 0;
    const double asked = e.asked[st];
    for (size_t k = 0; k < M; ++k) {
      const double d = delta(k, size_t(a));
      sum += d;
      if (std::isfinite(asked) && asked != 0 && d * (asked > 0 ? 1 : -1) >= s.success_share * std::abs(asked)) ++hits;
      if (st == 0) achieved_of_row[size_t(matched[k])] = d;
    }
    const double achieved = sum / double(M);
    const double rate = std::isfinite(asked) && asked != 0 ? double(hits) / double(M) : k_nan;
    j["achieved"] = achieved;
    j["success_rate"] = json_number_or_null(rate);
    per_attribute[e.steps[st]] = j;
    faithfulness.push_back(std::isfinite(asked) && asked != 0 ? achieved / asked : k_nan);
    success.push_back(rate);
  }
  std::vector<double> preservation;
  for (size_t a = 0; a < A && M > 0; ++a) {
    if (is_target_attribute[a]) continue;
    double sum = 0;
    for (size_t k = 0; k < M; ++k) sum += std::abs(delta(k, a));
    preservation.push_back(sum / double(M));
  }

  // Locality of the landmark change (re-detected) and of the pixel change; flicker; side judges.
  double lm_in = 0, lm_total = 0, px_in = 0, px_total = 0;
  nlohmann::json judges = nlohmann::json::object();
  std::vector<double> d_age, d_male;
  std::vector<std::vector<double>> d_expr(k_face_expression_count);
  for (int64_t r : matched) {
    const RowObservation& o = obs[size_t(r)];
    for (int i = 0; i < 68; ++i) {
      const double dx = o.edited.landmarks[size_t(i)].x - o.source.landmarks[size_t(i)].x;
      const double dy = o.edited.landmarks[size_t(i)].y - o.source.landmarks[size_t(i)].y;
      lm_total += dx * dx + dy * dy;
      if (in_target[size_t(i)]) lm_in += dx * dx + dy * dy;
    }
    d_age.push_back(o.edited.attributes.age - o.source.attributes.age);
    d_male.push_back(o.edited.attributes.male_probability - o.source.attributes.male_probability);
    for (int k = 0; k < k_face_expression_count; ++k)
      d_expr[size_t(k)].push_back(o.edited.attributes.expressions[size_t(k)] - o.source.attributes.expressions[size_t(k)]);
  }
  std::vector<double> flicker, residual;
  for (int64_t r = 0; r < e.n; ++r) {
    const RowObservation& o = obs[size_t(r)];
    px_total += o.pixels.total, px_in += o.pixels.in_target;
    flicker.push_back(o.flicker), residual.push_back(o.residual);
  }
  if (!matched.empty()) {
    judges["age"] = mean_finite(d_age);
    judges["male_probability"] = mean_finite(d_male);
    for (int k = 0; k < k_face_expression_count; ++k) judges[k_face_expression_names[size_t(k)]] = mean_finite(d_expr[size_t(k)]);
  }
  const double jitter_e = mean_finite(jitter_edited), jitter_s = mean_finite(jitter_source);

  out["status"] = e.n == 0 ? "no face" : "done";
  out["evaluated"] = !matched.empty();
  out["frames"] = frames;
  out["frames_evaluated"] = int64_t(M);  // edited faces x frames judged on both sides
  out["frames_no_face"] = no_face;
  out["frames_no_face_source"] = no_source;
  out["frames_no_face_edited"] = no_edited;
  out["tracks"] = int64_t(rows_of_track.size());
  out["id"] = json_number_or_null(mean_finite(id_of_row));
  out["id_raw"] = json_number_or_null(mean_finite(id_raw));
  out["id_euclidean"] = json_number_or_null(mean_finite(id_euclidean));
  out["tl_id"] = json_number_or_null(ratio(tl_sum, tl_pairs));
  out["tg_id"] = json_number_or_null(ratio(tg_sum, tg_pairs));
  out["tl_id_raw"] = json_number_or_null(ratio(tl_raw_sum, tl_raw_pairs));
  out["tg_id_raw"] = json_number_or_null(ratio(tg_raw_sum, tg_raw_pairs));
  out["tl_pairs"] = tl_pairs, out["tg_pairs"] = tg_pairs, out["pairs_excluded"] = excluded;
  out["success_rate"] = json_number_or_null(mean_finite(success));
  out["faithfulness"] = json_number_or_null(mean_finite(faithfulness));
  out["preservation"] = json_number_or_null(mean_finite(preservation));
  // No target region (the recipe's attributes are not landmark measures, e.g. a TorchScript backbone's): no locality.
  const bool has_target = std::count(in_target.begin(), in_target.end(), true) > 0;
  out["locality_landmarks"] = json_number_or_null(has_target && lm_total > 0 ? lm_in / lm_total : k_nan);
  out["locality_pixels"] = json_number_or_null(has_target && px_total > 0 ? px_in / px_total : k_nan);
  out["flicker"] = json_number_or_null(mean_finite(flicker));
  out["residual"] = json_number_or_null(mean_finite(residual));
  out["jitter_edited_px"] = json_number_or_null(jitter_e);
  out["jitter_source_px"] = json_number_or_null(jitter_s);
  out["jitter_ratio"] = json_number_or_null(jitter_s > 0 ? jitter_e / jitter_s : k_nan);
  out["attributes"] = per_attribute;
  out["side_judges"] = judges;
  // Along the video (the track with most judged frames): frame, time, ID, TL-ID to the next frame, the first attribute's
  // measured change; null where a side had no face.
  nlohmann::json per_frame;
  if (!rows_of_track.empty()) {
    auto main_track = std::max_element(rows_of_track.begin(), rows_of_track.end(),
                                       [](auto& a, auto& b) { return a.second.size() < b.second.size(); });
    per_frame["track"] = main_track->first;
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < e.n; ++r)
      if (e.track[size_t(r)] == main_track->first) rows.push_back(r);
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return e.frame[size_t(a)] < e.frame[size_t(b)]; });
    for (int64_t r : rows) {
      per_frame["frame"].push_back(e.frame[size_t(r)]);
      per_frame["time_s"].push_back(double(e.time_us[size_t(r)]) * 1e-6);
      per_frame["id"].push_back(json_number_or_null(id_of_row[size_t(r)]));
      per_frame["tl_id"].push_back(json_number_or_null(tl_of_row[size_t(r)]));
      per_frame["achieved"].push_back(json_number_or_null(achieved_of_row[size_t(r)]));
    }
  }
  out["per_frame"] = per_frame;
  timings["metrics"] += clock_seconds_since(t);
  ctx.info()["frames"] = frames;
  ctx.info()["frames_evaluated"] = int64_t(M);
  return write();
}

}  // namespace s3e
