// frame.h — the media module's picture: an Image (core/image.h, packed RGB24) with its place in a video (timestamp
// in seconds and frame index). Plain data, no FFmpeg types, so any module can use it.
#pragma once
#include <cstdint>

#include "core/image.h"

namespace s3e {

// A decoded or to-be-encoded video frame: an Image (core/image.h) plus its place in the video.
struct Frame : Image {
  double pts = -1;    // presentation time in seconds from the video's first frame; < 0: not set
  int64_t index = 0;  // frame number in presentation order, 0-based
};

// A frame of the given size filled with one colour.
Frame frame_make(int width, int height, uint8_t r = 0, uint8_t g = 0, uint8_t b = 0);

// `frame` scaled to width x height (bicubic); pts and index are kept. Throws UsageError on a bad size.
Frame frame_resize(const Frame& frame, int width, int height);

// Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst`.
void frame_paste(Frame& dst, const Frame& src, int x, int y);

}  // namespace s3e
