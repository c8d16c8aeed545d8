// Broken and hostile inputs: each fails with a DataError that names the file and says what is wrong.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "media/image_io.h"
#include "media/media_test_util.h"
#include "media/video_reader.h"

namespace fs = std::filesystem;
using namespace s3e;
using namespace s3e::test;

namespace {

// Opens and decodes `path` to the end; returns the DataError's message ("" when it did not fail).
std::string read_error(const fs::path& path) {
  try {
    VideoReader reader(path.string());
    Frame frame;
    while (reader.next(frame)) {
    }
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const fs::path& path, const std::string& reason) {
  std::string message = read_error(path);
  ASSERT_FALSE(message.empty()) << path << " was read without error";
  EXPECT_NE(message.find(path.string()), std::string::npos) << "message does not name the file: " << message;
  EXPECT_NE(message.find(reason), std::string::npos) << "expected '" << reason << "' in: " << message;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void truncate_copy(const fs::path& from, const fs::path& to, double fraction) {
  std::string bytes = read_file(from);
  write_bytes(to, bytes.substr(0, static_cast<size_t>(bytes.size() * fraction)));
}

// A PNG whose header declares width x height, with correct CRCs, and no image data.
std::string png_header(uint32_t width, uint32_t height) {
  auto be32 = [](uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  };
  auto crc32 = [](const std::string& s) {
    uint32_t c = 0xffffffffu;
    for (unsigned char b : s) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
  };
  std::string ihdr = "IHDR" + be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);
  std::string iend = "IEND";
  return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr + be32(crc32(ihdr)) + be32(0) + iend + be32(crc32(iend));
}

TEST(MediaErrors, TruncatedFiles) {
  TempDir dir("media_errors");
  // MP4 with its index (moov) at the end: cut, the index is gone.
  truncate_copy(media_clip("h264.mp4"), dir / "cut.mp4", 0.5);
  expect_error(dir / "cut.mp4", "cannot be read as media");
  // MP4 with the index first: it opens, but the frames it declares are missing.
  truncate_copy(media_clip("h264_faststart.mp4"), dir / "cut_faststart.mp4", 0.6);
  expect_error(dir / "cut_faststart.mp4", "truncated");
  // AVI cut before its index.
  truncate_copy(media_clip("mpeg4.avi"), dir / "cut.avi", 0.5);
  expect_error(dir / "cut.avi", "truncated");
}

TEST(MediaErrors, EmptyTextMissingAndFolder) {
  TempDir dir("media_errors");
  write_bytes(dir / "empty.mp4", "");
  expect_error(dir / "empty.mp4", "is empty");
  write_bytes(dir / "notes.mp4", "These are meeting notes, not a video.\nSecond line.\n");
  expect_error(dir / "notes.mp4", "not a video or image file");
  expect_error(dir / "missing.mp4", "no such file");
  fs::create_directories(dir / "folder.mp4");
  expect_error(dir / "folder.mp4", "is a folder");
}

TEST(MediaErrors, AbsurdDimensionsAreRejectedBeforeDecoding) {
  TempDir dir("media_errors");
  write_bytes(dir / "huge.y4m", "YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + std::string(4096, '\x80'));
  std::string y4m = read_error(dir / "huge.y4m");
  EXPECT_NE(y4m.find(dir.path().string()), std::string::npos) << y4m;
  EXPECT_FALSE(y4m.empty());
  write_bytes(dir / "huge.png", png_header(100000, 100000));
  std::string png = read_error(dir / "huge.png");
  EXPECT_FALSE(png.empty());
  EXPECT_NE(png.find("huge.png"), std::string::npos) << png;
  // Within FFmpeg's own sanity bounds, our limits speak: 12000x12000 passes FFmpeg's header checks.
  write_bytes(dir / "big.y4m", "YUV4MPEG2 W12000 H12000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + std::string(4096, '\x80'));
  expect_error(dir / "big.y4m", "media.max_width");
}

TEST(MediaErrors, PlaylistsAndUrlsAreRefused) {
  TempDir dir("media_errors");
  write_bytes(dir / "remote.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nhttp://example.com/seg0.ts\n"
                                   "#EXT-X-ENDLIST\n");
  expect_error(dir / "remote.m3u8", "playlist");
  write_bytes(dir / "list.ffconcat", "ffconcat version 1.0\nfile 'http://example.com/a.mp4'\n");
  expect_error(dir / "list.ffconcat", "playlist");
  try {
    VideoReader reader("http://example.com/video.mp4");
    FAIL() << "a URL was opened";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("local files only"), std::string::npos) << e.what();
  }
}

TEST(MediaErrors, ImageReadOfBrokenFile) {
  TempDir dir("media_errors");
  write_bytes(dir / "photo.jpg", "\xff\xd8\xff\xe0 definitely not a whole JPEG");
  EXPECT_THROW(image_read_rgb((dir / "photo.jpg").string()), DataError);
}

}  // namespace
