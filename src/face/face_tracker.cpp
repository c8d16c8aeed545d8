#include "face/face_tracker.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "face/face_association.h"
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

FaceBox FaceTracker::predicted_box(const Active& a) const {
  FaceBox lb = face_landmarks_bbox(a.landmarks);
  const FaceBox& r = a.box_in_landmarks;
  // Constant-velocity prediction: the crop moves with the face's last displacement.
  return {lb.x + r.x * lb.width + a.velocity.x, lb.y + r.y * lb.height + a.velocity.y, r.width * lb.width,
          r.height * lb.height};
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
  // Landmarks from each detection's own crop (face-api's cascade: ingest's parity depends on it).
  auto landmarks = models_.landmarks_in_image(frame, crops);
  std::vector<FaceRect> desc_crops;
  std::vector<size_t> desc_of;
  for (size_t i = 0; i < dets.size(); ++i) {
    FaceRect r = face_descriptor_rect(landmarks[i], crops[i], W, H);
    if (!r.empty()) desc_crops.push_back(r), desc_of.push_back(i);
  }
  std::vector<FaceAssociationDetection> candidates(dets.size());
  for (size_t i = 0; i < dets.size(); ++i)
    candidates[i].box = dets[i].box, candidates[i].landmark_box = face_landmarks_bbox(landmarks[i]),
    candidates[i].score = dets[i].score;
  auto computed = models_.descriptors(frame, desc_crops);
  for (size_t k = 0; k < desc_of.size(); ++k)
    candidates[desc_of[k]].descriptor = computed[k], candidates[desc_of[k]].has_descriptor = true;

  std::vector<FaceAssociationTrack> known(tracks_.size());
  for (auto& t : tracks_) {
    FaceAssociationTrack& k = known[size_t(t.id)];
    k.id = t.id;
    k.has_descriptor = t.descriptor_count > 0;
    k.descriptor = t.descriptor;
  }
  for (auto& a : active_) {
    FaceAssociationTrack& k = known[size_t(a.track_id)];
    k.live = true;
    k.predicted_box = predicted_box(a);
    k.landmark_box = face_landmarks_bbox(a.landmarks);
  }
  FaceAssociationOptions ao;
  ao.identity_distance = options_.identity_distance;
  ao.merge_distance = options_.continue_distance;
  ao.min_overlap = options_.min_overlap;
  ao.min_containment = options_.min_containment;
  FaceAssociation association = face_associate(candidates, known, ao);

  std::vector<Active> was_active;
  was_active.swap(active_);
  std::vector<bool> taken(tracks_.size(), false);
  for (int id : association.track_of)
    if (id >= 0) taken[size_t(id)] = true;
  for (int id : association.ended) taken[size_t(id)] = true;  // its face went to another track
  std::vector<Active> missed;  // live tracks the detector did not see this time (and whose place nobody took)
  for (auto& a : was_active)
    if (!taken[size_t(a.track_id)] && a.misses < options_.max_detector_misses) {
      missed.push_back(a);
      ++missed.back().misses;
    }
  for (size_t i = 0; i < dets.size(); ++i) {
    int id = association.track_of[i];
    if (id == FaceAssociation::k_duplicate) continue;
    if (id == FaceAssociation::k_new) {
      FaceTrack t;
      t.id = static_cast<int>(tracks_.size());
      tracks_.push_back(t);
      id = t.id;
    }
    FaceTrack& t = tracks_[size_t(id)];
    if (candidates[i].has_descriptor) {  // running mean of the identity
      ++t.descriptor_count;
      for (size_t k = 0; k < 128; ++k)
        t.descriptor[k] += (candidates[i].descriptor[k] - t.descriptor[k]) / t.descriptor_count;
    }
    // The track's crop is re-fitted from the detection: its box relative to the landmarks, as the detector sees it.
    FaceBox lb = candidates[i].landmark_box;
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
  // Tracks most recently confirmed by the detector first (then the longest): where two tracked crops end on one
  // face, the first keeps it.
  std::stable_sort(tracks.begin(), tracks.end(), [&](const Active& a, const Active& b) {
    if (a.misses != b.misses) return a.misses < b.misses;
    return tracks_[size_t(a.track_id)].frames > tracks_[size_t(b.track_id)].frames;
  });
  std::vector<Active> kept;
  std::vector<FaceRect> crops;
  for (auto& a : tracks) {
    FaceBox box = predicted_box(a);
    FaceRect c = face_rect_clip(box, frame.width, frame.height);
    double inside = c.empty() ? 0.0 : double(c.width) * c.height / (box.width * box.height);
    if (inside < options_.min_inside) continue;  // the face is leaving the frame: the track ends here
    kept.push_back(a);
    crops.push_back(c);
  }
  auto landmarks = models_.landmarks_in_image(frame, crops);
  FaceAssociationOptions ao;
  ao.min_overlap = options_.min_overlap;
  ao.min_containment = options_.min_containment;
  std::vector<FaceBox> held;  // landmark boxes of the faces recorded in this frame so far (detections included)
  for (auto& f : out.faces) held.push_back(face_landmarks_bbox(f.landmarks));
  std::vector<Active> survivors;
  for (size_t i = 0; i < kept.size(); ++i) {
    FaceBox before = face_landmarks_bbox(kept[i].landmarks), after = face_landmarks_bbox(landmarks[i]);
    double scale = std::sqrt((after.width * after.height) / std::max(1e-9, before.width * before.height));
    if (!(scale < options_.max_scale_change && scale > 1 / options_.max_scale_change)) continue;  // lost
    // Never two tracks on one face: a crop that drifted onto a face another track holds ends here.
    bool taken = false;
    for (auto& h : held) taken = taken || face_same_place(after, h, ao);
    if (taken) continue;
    held.push_back(after);
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
