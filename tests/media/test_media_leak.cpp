// Run under valgrind (ctest: test_media_leak_valgrind, label `slow`): every FFmpeg object the media module
// allocates (contexts, frames, packets, scalers, resamplers) is freed on normal and error paths alike.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "media/contact_sheet.h"
#include "media/image_io.h"
#include "media/media_test_util.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace fs = std::filesystem;
using namespace s3e;
using namespace s3e::test;

namespace {

TEST(MediaLeak, OpenDecodeSeekWriteClose) {
  TempDir dir("media_leak");
  std::ofstream(dir / "notes.mp4") << "not a video";
  for (int i = 0; i < 2; ++i) {
    for (const char* clip : {"h264.mp4", "mpeg1.mpg", "rotated90.mp4", "seq/frame_%05d.png"}) {
      VideoReader reader(media_clip(clip).string());
      Frame frame;
      reader.next(frame);
      reader.seek_frame(20);
      ASSERT_TRUE(reader.next(frame));
      const int rotation = reader.info().rotation;
      EXPECT_EQ(pattern_index(rotation ? frame_rotated(frame, 360 - rotation) : frame), 20) << clip;
    }
    EXPECT_THROW(VideoReader((dir / "notes.mp4").string()), DataError);
    EXPECT_THROW(VideoReader((dir / "missing.mp4").string()), DataError);
    for (const char* source : {"aac.mp4", "pcm.avi"}) {  // audio copy and AAC re-encode
      VideoReader reader(media_clip(source).string());
      VideoWriter writer((dir / "out.mp4").string(), video_writer_options_like(reader.info()));
      Frame frame;
      for (int k = 0; k < 4 && reader.next(frame); ++k) writer.write(frame);
      writer.close();
    }
    {
      VideoWriter abandoned((dir / "abandoned.mp4").string());
      abandoned.write(pattern_frame(64, 48, 0));
    }
    EXPECT_FALSE(fs::exists(dir / "abandoned.mp4"));
    ContactSheetOptions options;
    options.frames = 3;
    options.tile_width = 40;
    image_write_png((dir / "sheet.png").string(), contact_sheet_make(media_clip("h264.mp4").string(), options).image);
    image_write_jpeg((dir / "sheet.jpg").string(), image_read_rgb((dir / "sheet.png").string()));
  }
}

}  // namespace
