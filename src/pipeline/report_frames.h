// pipeline/report_frames.h — the report's frame strips: a few frames of a source video and its edit, each shown as
// source | edited | change heat map (media/change_preview.h), stacked top to bottom in one PNG held in memory.
#pragma once
#include <string>
#include <vector>

#include "media/media_limits.h"

namespace s3e {

struct ReportStripOptions {
  int frames = 4;         // rows: frames spread evenly over the video
  int max_width = 960;    // of each row (source | edited | heat map, scaled down together, never up)
  int full_scale = 48;    // change shown as white in the heat map (0..255 levels)
  MediaLimits limits;
};

struct ReportStrip {
  std::string png;            // PNG file bytes
  std::vector<double> times;  // seconds of each row's frame
  int width = 0, height = 0;
};

// Frames at the same indices of `source` and `edited` (edit --videos keeps the source's frames and timestamps);
// an edited video of another size is scaled to the source's. Throws DataError naming a video that cannot be read.
ReportStrip report_frame_strip(const std::string& source, const std::string& edited, const ReportStripOptions& options);

// Frame indices spread evenly over `count` frames: the middles of `n` equal parts (fewer when count < n).
std::vector<int64_t> report_strip_indices(int64_t count, int n);

}  // namespace s3e
