// pipeline/eval_video_item.h — one work item of `s3editor eval`: one video that `edit --videos` wrote, judged
// against its source by the face nets, independently of the editor (docs/metrics.md, "Videos").
//
// Both videos are decoded in lockstep. On every frame where the edit changed a face (a row of the video's
// edited-latents file), face-api's whole cascade runs on the source frame and on the edited frame (detector,
// landmarks, descriptor, age/gender and expression: no tracking, no smoothing, so both sides are measured the same
// way), and the face of each side is the detection whose landmark box best overlaps the row's source landmarks.
// A row where either side has no such face is excluded and counted, never fatal. From the matched pairs: identity
// (centred cosine; raw cosine and Euclidean distance beside it), TL-ID and TG-ID per track, the geometric measures
// of the re-detected landmarks (faithfulness and success of the recipe's attributes, preservation of the others,
// locality of the landmark change), the side judges (age, gender, expressions), the locality of the pixel change,
// the flicker of the edit residual and the landmark jitter relative to the source's.
//
// Output: `eval/<id>.json` through the ledger (the per-video object of video_metrics_report.h).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "face/face_models.h"
#include "media/media_limits.h"
#include "metrics/identity_net.h"
#include "pipeline/item_run.h"

namespace s3e {

inline constexpr const char* k_eval_video_dir = "eval";

struct VideoEvalSource {
  std::string source;          // the source video
  std::string edited_video;    // the edited video ("" when the edit did not write one)
  std::string edited_latents;  // its edited-latents file
  std::string edit_status;     // the index's videos/edit_status
};

struct VideoEvalSettings {
  const FaceModels* models = nullptr;
  const IdentityNet* identity = nullptr;
  double min_similarity = 0.1;   // TL-ID/TG-ID: pairs whose source similarity is lower are excluded
  double min_overlap = 0.3;      // IoU of landmark boxes for a detection to be the edited face
  int pixel_noise = 3;           // levels of |edited - source| counted as codec noise (locality of pixels)
  int64_t tg_max_frames = 2000;  // TG-ID over at most this many evenly spaced frames per track (O(n^2) pairs)
  double success_share = 0.5;    // a frame succeeds when its measured change reaches this share of the asked one
  MediaLimits limits;
};

// Judges one video; returns its metrics object (also written to eval/<id>.json). DataError for a bad pair (a video
// gone or undecodable, fewer edited frames than source frames, an edited-latents file that does not match).
nlohmann::json eval_video_item_run(const VideoEvalSource& source, const VideoEvalSettings& settings,
                                   const std::string& id, ItemContext& ctx);

}  // namespace s3e
