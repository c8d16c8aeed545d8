#include "media/change_preview.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace s3e {

Frame change_heat_map(const Frame& source, const Frame& edited, int full_scale) {
  if (source.width != edited.width || source.height != edited.height)
    throw std::invalid_argument("change_heat_map: the frames differ in size");
  Frame heat = frame_make(source.width, source.height);
  heat.pts = edited.pts, heat.index = edited.index;
  const double scale = 1.0 / std::max(1, full_scale);
  for (size_t i = 0; i < source.rgb.size(); i += 3) {
    int d = 0;
    for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(int(source.rgb[i + c]) - int(edited.rgb[i + c])));
    if (d == 0) continue;
    // 0..1 through black -> red -> yellow -> white, each third of the range one channel.
    const double t = std::min(1.0, d * scale) * 3;
    heat.rgb[i] = uint8_t(std::lround(255 * std::clamp(t, 0.0, 1.0)));
    heat.rgb[i + 1] = uint8_t(std::lround(255 * std::clamp(t - 1, 0.0, 1.0)));
    heat.rgb[i + 2] = uint8_t(std::lround(255 * std::clamp(t - 2, 0.0, 1.0)));
  }
  return heat;
}

Frame change_preview(const Frame& source, const Frame& edited, const ChangePreviewOptions& options) {
  const Frame heat = change_heat_map(source, edited, options.full_scale);
  const int w = source.width, h = source.height;
  Frame strip = frame_make(3 * w, h);
  frame_paste(strip, source, 0, 0);
  frame_paste(strip, edited, w, 0);
  frame_paste(strip, heat, 2 * w, 0);
  if (3 * w > options.max_width && options.max_width >= 6) {
    const int sw = options.max_width & ~1;
    const int sh = std::max(2, int(std::lround(double(h) * sw / (3.0 * w))) & ~1);
    strip = frame_resize(strip, sw, sh);
  }
  strip.pts = edited.pts, strip.index = edited.index;
  return strip;
}

}  // namespace s3e
