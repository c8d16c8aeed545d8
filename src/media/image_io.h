// image_io.h — still images: read one picture (JPEG, PNG, BMP, WebP, ... or the first frame of a video) as an
// upright RGB frame, and write PNG or JPEG files for previews and reports. Reading goes through VideoReader, so
// the same limits, protocol whitelist and errors apply (DataError naming the file). Writing is atomic: the file
// appears under its final name only when complete; an unwritable destination is a UsageError.
#pragma once
#include <string>

#include "media/frame.h"
#include "media/media_limits.h"

namespace s3e {

// The first (for a photo: only) frame of `path`, rotated upright per its metadata.
Frame image_read_rgb(const std::string& path, const MediaLimits& limits = MediaLimits());

// Lossless PNG (RGB24).
void image_write_png(const std::string& path, const Frame& frame);

// Baseline JPEG, 4:2:0; quality 1 (smallest) .. 100 (best).
void image_write_jpeg(const std::string& path, const Frame& frame, int quality = 90);

// The bytes of a lossless PNG (RGB24) file of `frame`, in memory (pages that embed pictures, e.g. the report).
// `what` names the picture in errors.
std::string image_encode_png(const Frame& frame, const std::string& what = "(in-memory PNG)");

}  // namespace s3e
