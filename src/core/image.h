// image.h — the one picture type of the project: packed RGB24, rows top to bottom, no padding. Image owns its
// pixels; ImageView borrows them. media's Frame is an Image with its place in a video (timestamp, index), so a
// decoded frame goes to the face nets, the overlays and the encoder without conversion. Plain data, no library
// types: every module can use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace s3e {

// A borrowed RGB image: rows of width * 3 bytes, top to bottom.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
};

// An owned RGB image.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes

  Image() = default;
  Image(int w, int h, uint8_t fill = 0) : width(w), height(h), rgb(std::size_t(w) * std::size_t(h) * 3, fill) {}
  ImageView view() const { return {rgb.data(), width, height}; }
  uint8_t* pixel(int x, int y) { return rgb.data() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3; }
  const uint8_t* pixel(int x, int y) const {
    return rgb.data() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3;
  }
  bool empty() const { return rgb.empty(); }
};

}  // namespace s3e
