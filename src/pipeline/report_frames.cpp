// pipeline/report_frames.cpp — frame strips for the report (report_frames.h).
#include "pipeline/report_frames.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.h"
#include "media/change_preview.h"
#include "media/frame.h"
#include "media/image_io.h"
#include "media/video_reader.h"

namespace s3e {

std::vector<int64_t> report_strip_indices(int64_t count, int n) {
  std::vector<int64_t> indices;
  if (count <= 0 || n <= 0) return indices;
  const int64_t rows = std::min<int64_t>(count, n);
  for (int64_t k = 0; k < rows; ++k) indices.push_back(std::min(count - 1, (2 * k + 1) * count / (2 * rows)));
  return indices;
}

ReportStrip report_frame_strip(const std::string& source, const std::string& edited, const ReportStripOptions& options) {
  VideoReader src(source, options.limits), out(edited, options.limits);
  const int64_t count = std::min(src.count_frames(), out.count_frames());
  if (count <= 0) throw DataError(fmt::format("{} or {}: holds no frame", source, edited));
  ChangePreviewOptions preview;
  preview.max_width = options.max_width;
  preview.full_scale = options.full_scale;
  ReportStrip strip;
  std::vector<Frame> rows;
  Frame a, b;
  for (int64_t index : report_strip_indices(count, options.frames)) {
    src.seek_frame(index);
    out.seek_frame(index);
    if (!src.next(a)) throw DataError(fmt::format("{}: frame {} cannot be decoded", source, index));
    if (!out.next(b)) throw DataError(fmt::format("{}: frame {} cannot be decoded", edited, index));
    if (b.width != a.width || b.height != a.height) b = frame_resize(b, a.width, a.height);
    rows.push_back(change_preview(a, b, preview));
    strip.times.push_back(a.pts);
  }
  strip.width = rows[0].width;
  for (auto& r : rows) strip.height += r.height;
  Frame sheet = frame_make(strip.width, strip.height, 255, 255, 255);
  int y = 0;
  for (auto& r : rows) {
    frame_paste(sheet, r, 0, y);
    y += r.height;
  }
  strip.png = image_encode_png(sheet, source + " (report strip)");
  return strip;
}

}  // namespace s3e
