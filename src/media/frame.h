// frame.h — the one picture type of the media module: a packed RGB24 image with its place in a video
// (timestamp in seconds and frame index). Plain data, no FFmpeg types, so any module can use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace s3e {

struct Frame {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes, rows top to bottom, no padding
  double pts = -1;           // presentation time in seconds from the video's first frame; < 0: not set
  int64_t index = 0;         // frame number in presentation order, 0-based

  uint8_t* pixel(int x, int y) { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
  const uint8_t* pixel(int x, int y) const { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
  bool empty() const { return rgb.empty(); }
};

// A frame of the given size filled with one colour.
Frame frame_make(int width, int height, uint8_t r = 0, uint8_t g = 0, uint8_t b = 0);

// `frame` scaled to width x height (bicubic); pts and index are kept. Throws UsageError on a bad size.
Frame frame_resize(const Frame& frame, int width, int height);

// Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst`.
void frame_paste(Frame& dst, const Frame& src, int x, int y);

}  // namespace s3e
