#include "media/contact_sheet.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "media/video_reader.h"

namespace s3e {

ContactSheet contact_sheet_make(const std::string& video, const ContactSheetOptions& options,
                                const MediaLimits& limits) {
  if (options.frames < 1 || options.columns < 1 || options.tile_width < 8 || options.gap < 0)
    throw UsageError(fmt::format("contact sheet: frames {}, columns {}, tile width {}, gap {}: need frames >= 1, "
                                 "columns >= 1, tile width >= 8, gap >= 0",
                                 options.frames, options.columns, options.tile_width, options.gap));
  VideoReader reader(video, limits);
  const int64_t n = reader.count_frames();
  if (n == 0) throw DataError(fmt::format("{}: holds no video frames", video));
  const int tiles = static_cast<int>(std::min<int64_t>(options.frames, n));
  const int columns = std::min(options.columns, tiles);
  const int rows = (tiles + columns - 1) / columns;
  const int tw = options.tile_width;
  const int th = std::max(1, static_cast<int>(std::lround(double(tw) * reader.info().height / reader.info().width)));
  ContactSheet sheet;
  sheet.image = frame_make(columns * tw + (columns + 1) * options.gap, rows * th + (rows + 1) * options.gap, 32, 32,
                           32);
  Frame frame;
  for (int k = 0; k < tiles; ++k) {
    int64_t index = tiles == 1 ? 0 : static_cast<int64_t>(std::llround(double(k) * (n - 1) / (tiles - 1)));
    reader.seek_frame(index);
    if (!reader.next(frame)) throw DataError(fmt::format("{}: frame {} cannot be decoded", video, index));
    sheet.frame_indices.push_back(frame.index);
    frame_paste(sheet.image, frame_resize(frame, tw, th), options.gap + (k % columns) * (tw + options.gap),
                options.gap + (k / columns) * (th + options.gap));
  }
  return sheet;
}

}  // namespace s3e
