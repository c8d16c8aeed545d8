// pipeline/ingest_index.h — the end of an ingest run (rank 0): the latent store index over the done item files
// (docs/formats.md, "Ingested store"). Besides the virtual columns of the item files it computes, over all rows:
//   labels          measure > threshold per attribute, the thresholds being the ingest.label_quantile quantiles of
//                   the measures. They are computed once per run folder and kept in <run>/label_thresholds.json, so
//                   a rerun that adds videos does not silently relabel rows an editor was trained on (ingest.relabel
//                   recomputes them; ingest.thresholds_from takes another store's, e.g. a training store's).
//   video_index     row of the video table (the input list's order)
//   side/track_id   a track id per video, joined across the ranges of a long video by descriptor distance
//   videos/*        the video table: path, sha256, frames, duration_s, fps, width, height, rows, status
//   backbone/*      the backbone's name, fingerprint, region map and attribute target regions
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "backbone/backbone.h"
#include "pipeline/ingest_inputs.h"
#include "store/item_ledger.h"
#include "store/row_file_writer.h"

namespace s3e {

struct IngestIndexOptions {
  std::filesystem::path run_dir;
  std::filesystem::path out;                 // the index
  std::string item_dir = "latents";          // item files: <run>/<item_dir>/<id>.h5
  double label_quantile = 0.5;
  bool relabel = false;
  std::string thresholds_from;               // a store whose label_thresholds to use ("" = this run's own)
  double identity_distance = 0.5;            // descriptor distance joining tracks across ranges
  std::string backbone_spec;                 // "landmark" or the TorchScript folder (absolute): stored as "backbone"
};

struct IngestIndexSummary {
  int64_t rows = 0, items_done = 0, items_failed = 0, items_pending = 0;
  int64_t videos = 0, videos_done = 0, videos_failed = 0, videos_without_face = 0, videos_partial = 0;
  std::string thresholds_source;  // "computed over N rows", "kept from <file>", "from <store>"
};

// Writes the index atomically. Items without a done record are left out (they are in failed.csv or pending).
// Throws DataError when no item holds a single face row (an empty store trains nothing).
IngestIndexSummary ingest_index_write(const IngestIndexOptions& options, const std::vector<std::string>& inputs,
                                      const std::vector<IngestItem>& items, const ItemLedger& ledger,
                                      const BackboneInfo& backbone, bool has_measures,
                                      const std::vector<ColumnSpec>& item_columns);

}  // namespace s3e
