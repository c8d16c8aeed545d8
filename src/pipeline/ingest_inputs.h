// pipeline/ingest_inputs.h — what `ingest` works on: the input files a user names (folders, list files, globs,
// plain paths) expanded into one sorted list, and the work items cut from it. A work item is (input, frame range):
// a long video is cut into ranges of ingest.range_seconds so that an hour-long input balances over the ranks too;
// each range is tracked with `context` extra frames on both sides (the smoothing window), so smoothing and tracks
// continue across the cut, and rows are written only for the range's own frames.
//
// Item ids are stable when the input list changes (files added later): "<stem>-<8 hex of the path's SHA-256>.r<k>".
// An input that cannot be probed (not a video, unreadable, over the media limits) still becomes one item, which
// fails with the probe's reason when processed, so it is recorded in the ledger like any bad input.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "media/media_limits.h"

namespace s3e {

// Expands `specs` in order: a folder -> its video and image files (by extension, not recursive, sorted); a file
// ending in .txt or .list -> one path per line (blank lines and # comments skipped, relative paths from the list's
// folder); a pattern with * ? or [ -> its matches (sorted; UsageError when none); anything else -> itself. Paths
// are made absolute and duplicates dropped (first occurrence kept). UsageError for a missing file or folder.
std::vector<std::string> ingest_list_inputs(const std::vector<std::string>& specs);

struct IngestItem {
  std::string id;
  int64_t input = 0;            // index into the input list
  std::string path;
  int range = 0;                // k-th range of the input
  int ranges = 1;               // how many ranges the input was cut into
  int64_t begin_frame = 0;      // rows are written for frames [begin_frame, end_frame)
  int64_t end_frame = 0;        // -1: to the end of the input (frame count unknown or a still)
  int64_t context_frames = 0;   // tracked before and after the range for smoothing and track continuity
  bool is_image = false;
  double cost = 1;              // frames (for the queue's largest-first order)
  std::string probe_error;      // non-empty: the input could not be opened; the item fails with this reason
};

struct IngestPlanOptions {
  double range_seconds = 60;    // <= 0: one item per input
  int64_t context_frames = 5;
  double time_begin_s = 0;      // optional time range of every input: [begin, end) seconds (end <= 0: to the end)
  double time_end_s = 0;
  MediaLimits limits;
};

// Probes every input's header (no decoding) and cuts it into items, in input order.
std::vector<IngestItem> ingest_plan_items(const std::vector<std::string>& inputs, const IngestPlanOptions& options);

// The id stem of an input: its file stem with characters outside [A-Za-z0-9._-] replaced, plus the path hash.
std::string ingest_input_id(const std::string& path);

}  // namespace s3e
