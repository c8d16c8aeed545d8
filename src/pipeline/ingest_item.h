// pipeline/ingest_item.h — one ingest work item (pipeline/ingest_inputs.h): decode the item's frames (plus its
// context frames), detect and track faces (face/face_tracker.h), describe them, smooth each track over time, choose
// the faces to keep, align them (FFHQ quad) and encode them with the backbone; write the item file.
//
// Item file (docs/formats.md, "Ingest item file"; schema s3editor.ingest_item): one row per kept face per frame
// of the item's own range — latents, measures (the backbone's attribute measures), frame_index, side/time_us,
// side/track (the item's local track id), side/landmarks (smoothed) and side/landmarks_raw (frame pixels),
// side/quad, side/score (NaN where the face was tracked, not detected), side/descriptor, side/flags, and with
// ingest.face_attributes side/expressions, side/age, side/male_probability; plus a table of every frame of the
// range (frames/index, frames/time_us, frames/faces, frames/flags) and of the kept tracks (tracks/id,
// tracks/descriptor, tracks/rows). Frames without a face have no row and are flagged in the frame table.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "backbone/backbone.h"
#include "face/face_models.h"
#include "face/face_tracker.h"
#include "media/media_limits.h"
#include "pipeline/ingest_inputs.h"
#include "pipeline/item_run.h"
#include "store/row_file_writer.h"

namespace s3e {

inline constexpr const char* k_ingest_item_schema = "s3editor.ingest_item";
inline constexpr int k_ingest_item_schema_version = 1;

// Row flags (side/flags) and frame flags (frames/flags).
inline constexpr int64_t k_flag_tracked = 1;         // row: landmarks propagated from the previous frame
inline constexpr int64_t k_flag_shot_cut = 2;        // a shot cut starts at this frame
inline constexpr int64_t k_flag_detector_ran = 4;    // the detector ran on this frame
inline constexpr int64_t k_flag_no_face = 8;         // frame: no face (of at least ingest.min_face_px)
inline constexpr int64_t k_flag_several_faces = 16;  // frame: more than one

struct IngestItemSettings {
  const Backbone* backbone = nullptr;
  const FaceModels* models = nullptr;
  FaceTrackerOptions tracker;
  double sigma_landmarks = 1.5, sigma_quad = 3.0;  // frames (face/face_smooth.h)
  std::string faces = "largest";                   // largest | all
  double min_face_px = 32;                         // faces whose landmark box is lower are not kept
  bool face_attributes = false;                    // age, gender and expressions per row
  int encode_batch = 16;
  MediaLimits limits;
};

// The columns of an item file under these settings (the index joins the same ones).
std::vector<ColumnSpec> ingest_item_columns(const IngestItemSettings& settings);

// Processes `item` and writes its item file to `out` (a temporary path of the ledger); fills ctx.info() (frames,
// rows, tracks, the input's facts) and ctx.timings() (decode, detect, landmarks, describe, track (the tracker's own
// association work), attributes, align, encode, write, hash).
// Throws DataError for a bad input (the probe's error, undecodable or truncated). An input without a face gives an
// item file without rows (and a warning).
void ingest_item_run(const IngestItem& item, const IngestItemSettings& settings, const std::filesystem::path& out,
                     ItemContext& ctx);

}  // namespace s3e
