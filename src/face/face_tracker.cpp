#include "face/face_tracker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "face/face_crops.h"
#include "face/face_identity.h"
#include "face/face_smooth.h"

namespace s3e {
namespace {

constexpr int k_thumb = 32;

// A 32x32 grey thumbnail (box average), values 0..1.
std::vector<float> thumbnail(ImageView f) {
  std::vector<float> out(k_thumb * k_thumb, 0.f);
  std::vector<int> count(out.size(), 0);
  for (int y = 0; y < f.height; ++y) {
    int ty = y * k_thumb / f.height;
    const uint8_t* row = f.data + size_t(y) * f.width * 3;
    for (int x = 0; x < f.width; ++x) {
      int i = ty * k_thumb + x * k_thumb / f.width;
      out[i] += (row[3 * x] + row[3 * x + 1] + row[3 * x + 2]) / (3.f * 255.f);
      ++count[i];
    }
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = count[i] ? out[i] / count[i] : 0.f;
  return out;
}

// Displacement of the landmark box centre from `a` to `b`.
FacePoint centre_shift(const FaceLandmarks& a, const FaceLandmarks& b) {
  FaceBox x = face_landmarks_bbox(a), y = face_landmarks_bbox(b);
  return {(y.x + y.width / 2) - (x.x + x.width / 2), (y.y + y.height / 2) - (x.y + x.height / 2)};
}

}  // namespace

FaceTracker::FaceTracker(const FaceModels& models, const FaceTrackerOptions& options)
    : models_(models), options_(options) {
  options_.detect_every = std::max(1, options_.detect_every);
}

bool FaceTracker::shot_cut(ImageView frame) {
  auto thumb = thumbnail(frame);
  bool cut = false;
  if (!thumbnail_.empty()) {
    double diff = 0;
    for (size_t i = 0; i < thumb.size(); ++i) diff += std::abs(thumb[i] - thumbnail_[i]);
    cut = diff / thumb.size() > options_.cut_threshold;
  }
  thumbnail_ = std::move(thumb);
  return cut;
}

void FaceTracker::record(TrackFrame& out, const Active& a, bool detected, double score, const FaceRect& crop) {
  TrackedFace f;
  f.track_id = a.track_id;
  f.detected = detected;
  f.score = score;
  f.crop = crop;
  f.landmarks = f.smoothed = a.landmarks;
  f.quad = face_quad_ffhq(a.landmarks);
  out.faces.push_back(f);
  FaceTrack& t = tracks_[size_t(a.track_id)];
  if (t.frames == 0 || t.last_frame != out.index - 1 || out.shot_cut) ++t.segments;
  if (t.first_frame < 0) t.first_frame = out.index;
  t.last_frame = out.index;
  ++t.frames;
}

void FaceTracker::detect_frame(ImageView frame, TrackFrame& out) {
  const int W = frame.width, H = frame.height;
  out.detector_ran = true;
  last_detection_ = out.index;
  std::vector<FaceDetection> dets;
  std::vector<FaceRect> crops;
  for (auto& d : models_.detect(frame)) {
    FaceRect c = face_rect_clip(face_box_round_trip(d.box, W, H, 2), W, H);
    if (!c.empty()) dets.push_back(d), crops.push_back(c);
  }
  auto landmarks = models_.landmarks_in_image(frame, crops);
  std::vector<FaceRect> desc_crops;
  std::vector<size_t> desc_of;
  for (size_t i = 0; i < dets.size(); ++i) {
    FaceRect r = face_descriptor_rect(landmarks[i], crops[i], W, H);
    if (!r.empty()) desc_crops.push_back(r), desc_of.push_back(i);
  }
  std::vector<FaceDescriptor> descriptors(dets.size());
  std::vector<bool> has_descriptor(dets.size(), false);
  auto computed = models_.descriptors(frame, desc_crops);
  for (size_t k = 0; k < desc_of.size(); ++k) descriptors[desc_of[k]] = computed[k], has_descriptor[desc_of[k]] = true;

  // Candidate (distance, detection, track) pairs, assigned greedily by distance: one identity per track.
  std::vector<std::tuple<double, size_t, int>> pairs;
  for (size_t i = 0; i < dets.size(); ++i) {
    FaceBox lb = face_landmarks_bbox(landmarks[i]);
    for (auto& t : tracks_) {
      bool overlapping = false;
      for (auto& a : active_)
        if (a.track_id == t.id && face_box_iou(lb, face_landmarks_bbox(a.landmarks)) > options_.min_overlap)
          overlapping = true;
      if (!has_descriptor[i] || t.descriptor_count == 0) {
        if (overlapping) pairs.emplace_back(options_.continue_distance, i, t.id);
        continue;
      }
      double d = face_descriptor_distance(descriptors[i], t.descriptor);
      if (d < options_.identity_distance || (overlapping && d < options_.continue_distance)) pairs.emplace_back(d, i, t.id);
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::vector<int> track_of(dets.size(), -1);
  std::vector<bool> track_used(tracks_.size(), false);
  for (auto& [d, i, id] : pairs)
    if (track_of[i] < 0 && !track_used[size_t(id)]) track_of[i] = id, track_used[size_t(id)] = true;

  std::vector<Active> was_active;
  was_active.swap(active_);
  std::vector<Active> missed;  // active tracks the detector did not see this time
  for (auto& a : was_active)
    if (!track_used[size_t(a.track_id)] && a.misses < options_.max_detector_misses) {
      missed.push_back(a);
      ++missed.back().misses;
    }
  for (size_t i = 0; i < dets.size(); ++i) {
    if (track_of[i] < 0) {
      FaceTrack t;
      t.id = static_cast<int>(tracks_.size());
      tracks_.push_back(t);
      track_of[i] = t.id;
    }
    FaceTrack& t = tracks_[size_t(track_of[i])];
    if (has_descriptor[i]) {  // running mean of the identity
      ++t.descriptor_count;
      for (size_t k = 0; k < 128; ++k) t.descriptor[k] += (descriptors[i][k] - t.descriptor[k]) / t.descriptor_count;
    }
    FaceBox lb = face_landmarks_bbox(landmarks[i]);
    const FaceBox& b = dets[i].box;
    Active a{t.id, landmarks[i],
             {(b.x - lb.x) / lb.width, (b.y - lb.y) / lb.height, b.width / lb.width, b.height / lb.height}, {0, 0}};
    for (auto& previous : was_active)
      if (previous.track_id == t.id) a.velocity = centre_shift(previous.landmarks, landmarks[i]);
    active_.push_back(a);
    record(out, a, true, dets[i].score, crops[i]);
  }
  for (auto& a : propagate(frame, std::move(missed), out)) active_.push_back(a);
}

std::vector<FaceTracker::Active> FaceTracker::propagate(ImageView frame, std::vector<Active> tracks, TrackFrame& out) {
  std::vector<Active> kept;
  std::vector<FaceRect> crops;
  for (auto& a : tracks) {
    FaceBox lb = face_landmarks_bbox(a.landmarks);
    const FaceBox& r = a.box_in_landmarks;
    // Constant-velocity prediction: the crop moves with the face's last displacement.
    FaceBox box{lb.x + r.x * lb.width + a.velocity.x, lb.y + r.y * lb.height + a.velocity.y, r.width * lb.width,
                r.height * lb.height};
    FaceRect c = face_rect_clip(box, frame.width, frame.height);
    double inside = c.empty() ? 0.0 : double(c.width) * c.height / (box.width * box.height);
    if (inside < options_.min_inside) continue;  // the face is leaving the frame: the track ends here
    kept.push_back(a);
    crops.push_back(c);
  }
  auto landmarks = models_.landmarks_in_image(frame, crops);
  std::vector<Active> survivors;
  for (size_t i = 0; i < kept.size(); ++i) {
    FaceBox before = face_landmarks_bbox(kept[i].landmarks), after = face_landmarks_bbox(landmarks[i]);
    double scale = std::sqrt((after.width * after.height) / std::max(1e-9, before.width * before.height));
    if (!(scale < options_.max_scale_change && scale > 1 / options_.max_scale_change)) continue;  // lost
    kept[i].velocity = centre_shift(kept[i].landmarks, landmarks[i]);
    kept[i].landmarks = landmarks[i];
    survivors.push_back(kept[i]);
    record(out, kept[i], false, 0.0, crops[i]);
  }
  return survivors;
}

const TrackFrame& FaceTracker::push(ImageView frame) {
  TrackFrame out;
  out.index = next_index_++;
  out.shot_cut = shot_cut(frame);
  if (out.shot_cut) active_.clear();  // nothing carries over a cut
  if (out.index % options_.detect_every == 0 || out.shot_cut) detect_frame(frame, out);
  else if (!active_.empty()) active_ = propagate(frame, std::move(active_), out);
  frames_.push_back(std::move(out));
  return frames_.back();
}

void track_smooth(std::vector<TrackFrame>& frames, double sigma_landmarks, double sigma_quad) {
  // (frame, face) positions of each track, in frame order.
  std::map<int, std::vector<std::pair<size_t, size_t>>> by_track;
  for (size_t t = 0; t < frames.size(); ++t)
    for (size_t k = 0; k < frames[t].faces.size(); ++k) by_track[frames[t].faces[k].track_id].emplace_back(t, k);
  for (auto& [id, refs] : by_track) {
    size_t begin = 0;
    while (begin < refs.size()) {
      size_t end = begin + 1;
      while (end < refs.size() && refs[end].first == refs[end - 1].first + 1 && !frames[refs[end].first].shot_cut) ++end;
      std::vector<FaceLandmarks> raw;
      std::vector<FaceQuad> quads;
      for (size_t i = begin; i < end; ++i) {
        const TrackedFace& f = frames[refs[i].first].faces[refs[i].second];
        raw.push_back(f.landmarks);
        quads.push_back(face_quad_ffhq(f.landmarks));
      }
      auto smoothed = smooth_landmarks(raw, sigma_landmarks);
      auto smoothed_quads = smooth_quads(quads, sigma_quad);
      for (size_t i = begin; i < end; ++i) {
        TrackedFace& f = frames[refs[i].first].faces[refs[i].second];
        f.smoothed = smoothed[i - begin];
        f.quad = smoothed_quads[i - begin];
      }
      begin = end;
    }
  }
}

TrackStats track_stats(const std::vector<TrackFrame>& frames) {
  TrackStats s;
  std::map<int, int64_t> count;
  for (auto& f : frames) {
    ++s.frames;
    s.frames_with_face += !f.faces.empty();
    s.frames_with_several += f.faces.size() > 1;
    s.shot_cuts += f.shot_cut;
    s.detector_runs += f.detector_ran;
    for (auto& face : f.faces) ++count[face.track_id];
  }
  int64_t best = 0;
  for (auto& [id, n] : count)
    if (n > best) best = n, s.main_track = id;
  // Jitter of the main track, over its contiguous segments, weighted by segment length.
  std::vector<FaceLandmarks> raw, smooth;
  double raw_sum = 0, smooth_sum = 0, weight = 0;
  auto flush = [&]() {
    if (raw.size() >= 3) {
      double w = double(raw.size() - 2);
      raw_sum += landmark_jitter(raw) * w, smooth_sum += landmark_jitter(smooth) * w, weight += w;
    }
    raw.clear(), smooth.clear();
  };
  for (auto& f : frames) {
    const TrackedFace* face = nullptr;
    for (auto& x : f.faces)
      if (x.track_id == s.main_track) face = &x;
    if (!face || f.shot_cut) flush();
    if (face) raw.push_back(face->landmarks), smooth.push_back(face->smoothed);
  }
  flush();
  if (weight > 0) s.jitter_raw = raw_sum / weight, s.jitter_smoothed = smooth_sum / weight;
  return s;
}

}  // namespace s3e
