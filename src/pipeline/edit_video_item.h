// pipeline/edit_video_item.h — one work item of `s3editor edit --videos`: one source video of an ingested store
// (pipeline/ingest.h), edited and re-encoded.
//
// Per video: the store's rows of the video (one per frame and kept face track: latents, smoothed landmarks, crop
// quad) are grouped by track; each chosen track (edit.tracks = all | largest | <id>) gets the recipe's edits with
// strengths calibrated in the backbone's units (pipeline/edit_strength.h); the edit residual z' - z is smoothed over
// time within the track's contiguous segments (Gaussian of edit.smooth_sigma frames; a per-frame edit of a noisy
// latent would make the face shimmer). Then every frame of the video is decoded; for each edited face on it the
// aligned crop is cut from the source frame, decoded with the backbone (the landmark backbone: a thin-plate-spline
// warp from the source to the edited landmarks) and pasted back through the inverse crop transform under a
// feathered mask grown from the hull of the source and edited landmarks. Pixels where the mask is 0 are never
// written, so frames without a face, and everything outside each face's mask, are exactly the decoded source
// before encoding. The video is encoded at the source's timestamps (same frame count), with its audio.
//
// Outputs (names relative to the run folder, written through the ledger, so under temporary names until commit):
//   videos/<id>.<ext>          the edited video
//   previews/<id>.mp4          optional: source | edited | change heat map (media/change_preview.h)
//   edited_latents/<id>.h5     one row per edited face and frame (a latent store file: docs/formats.md, "Edited
//                              videos"), with the recipe, the strengths per track, the routing and the sparse masks
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backbone/backbone.h"
#include "editor/editor_runtime.h"
#include "face/face_align.h"
#include "media/change_preview.h"
#include "media/media_limits.h"
#include "media/video_writer.h"
#include "pipeline/edit_strength.h"
#include "pipeline/item_run.h"
#include "store/latent_store.h"

namespace s3e {

inline constexpr const char* k_edit_video_dir = "videos";
inline constexpr const char* k_edit_preview_dir = "previews";
inline constexpr const char* k_edit_latents_dir = "edited_latents";

// A video of the ingested store.
struct VideoEditSource {
  int64_t video = 0;           // row of the store's video table (the edited rows' video_index)
  std::string path;            // as ingested
  std::string sha256;          // as ingested ("" when ingest did not record it)
  std::string status;          // the video table's status ("done", "no face", "partial: ...", "failed: ...")
  std::vector<int64_t> rows;   // the store's rows of this video, ascending
};

struct VideoEditSettings {
  const LatentStore* store = nullptr;
  const EditorRuntime* editor = nullptr;
  const Backbone* backbone = nullptr;   // the store's backbone (measures; decode unless landmark_crop)
  bool landmark_backbone = false;       // decode with a landmark backbone of a per-video crop size
  std::vector<StrengthStep> steps;
  StrengthOptions strength;
  std::string tracks = "all";           // all | largest | a track id (the store's side/track_id)
  double smooth_sigma = 2;              // frames; 0: no smoothing of the edit residual
  double start_s = 0, end_s = 0;        // edit only faces at [start, end) seconds (end 0: to the end)
  int crop_size = 0;                    // landmark backbone: 0 = the median quad side, rounded up to 32
  FacePasteOptions paste;
  VideoWriterOptions encode;            // codec, crf, preset, threads (rate, timestamps and audio: the source's)
  std::string extension = "mp4";
  bool preview = false;
  ChangePreviewOptions preview_options;
  MediaLimits limits;
  double test_delay_ms = 0;
};

// Columns of an edited-latents file (and of the run's index).
std::vector<ColumnSpec> edit_video_columns(const std::vector<int64_t>& latent_shape, int64_t num_attributes,
                                           bool has_measures);

// Edits `source` as item `id`; fills ctx.info() (frames, faces edited, strengths, ...) and ctx.timings() (read,
// transform, decode, crop, warp, paste, encode, preview, write, hash). Throws DataError for a bad video (ingest
// failed on it, changed since ingest, undecodable, fewer frames than ingested).
void edit_video_item_run(const VideoEditSource& source, const VideoEditSettings& settings, const std::string& id,
                         ItemContext& ctx);

}  // namespace s3e
