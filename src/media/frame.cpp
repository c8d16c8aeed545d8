#include "media/frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/errors.h"
#include "media/ff_util.h"

namespace s3e {

Frame frame_make(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  if (width <= 0 || height <= 0) throw UsageError(fmt::format("frame size {}x{} is not positive", width, height));
  Frame f;
  f.width = width;
  f.height = height;
  f.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < f.rgb.size(); i += 3) {
    f.rgb[i] = r;
    f.rgb[i + 1] = g;
    f.rgb[i + 2] = b;
  }
  return f;
}

Frame frame_resize(const Frame& frame, int width, int height) {
  if (width <= 0 || height <= 0 || frame.empty())
    throw UsageError(fmt::format("cannot resize a {}x{} frame to {}x{}", frame.width, frame.height, width, height));
  Frame out;
  out.width = width;
  out.height = height;
  out.pts = frame.pts;
  out.index = frame.index;
  FfSws sws(sws_getContext(frame.width, frame.height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_RGB24,
                           SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!sws) throw UsageError(fmt::format("cannot resize {}x{} to {}x{}", frame.width, frame.height, width, height));
  std::vector<uint8_t> padded, scratch;
  int src_stride[4] = {ff_pad_packed(frame.rgb.data(), frame.width * 3, frame.height, padded), 0, 0, 0};
  const uint8_t* src[4] = {padded.data(), nullptr, nullptr, nullptr};
  ff_scale_to_packed(sws.get(), src, src_stride, frame.height, out.rgb, width * 3, height, scratch);
  return out;
}

void frame_paste(Frame& dst, const Frame& src, int x, int y) {
  const int x0 = std::max(0, x), x1 = std::min(dst.width, x + src.width);
  if (x1 <= x0) return;
  for (int row = std::max(0, y); row < std::min(dst.height, y + src.height); ++row)
    std::memcpy(dst.pixel(x0, row), src.pixel(x0 - x, row - y), static_cast<size_t>(x1 - x0) * 3);
}

}  // namespace s3e
