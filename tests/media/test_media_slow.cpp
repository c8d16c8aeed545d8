// Slow media tests (label `slow`): a 10-minute video is read with flat memory, and thousands of open/close
// cycles do not grow the process.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <malloc.h>

#include "common/test_util.h"
#include "core/errors.h"
#include "media/image_io.h"
#include "media/media_test_util.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace fs = std::filesystem;
using namespace s3e;
using namespace s3e::test;

namespace {

TEST(MediaSlow, TenMinuteVideoIsReadWithFlatMemory) {
  TempDir dir("media_long");
  const fs::path video = dir / "ten_minutes.mp4";
  ffmpeg_run("-f lavfi -i testsrc2=size=320x240:rate=25 -t 600 -c:v libx264 -preset ultrafast -crf 32 -g 250 "
             "-pix_fmt yuv420p " + shell_quote(video.string()));
  VideoReader reader(video.string());
  EXPECT_NEAR(reader.info().duration_s, 600, 0.1);
  Frame frame;
  int64_t n = 0;
  double baseline = 0, peak = 0;
  while (reader.next(frame)) {
    ++n;
    if (n == 500) baseline = process_rss_mib();
    if (n > 500 && n % 250 == 0) peak = std::max(peak, process_rss_mib());
  }
  EXPECT_EQ(n, 600 * 25);
  RecordProperty("rss_baseline_mib", std::to_string(baseline));
  RecordProperty("rss_peak_mib", std::to_string(peak));
  std::printf("10-minute 320x240 video: %lld frames, RSS %.1f MiB after 500 frames, peak %.1f MiB after\n",
              static_cast<long long>(n), baseline, peak);
  EXPECT_LT(peak - baseline, 8.0) << "memory grows with the length of the video";
}

// One cycle of everything that allocates FFmpeg objects, error paths included.
void media_cycle(const fs::path& dir, int i) {
  {
    VideoReader reader(media_clip("aac.mp4").string());
    Frame frame;
    reader.next(frame);
    reader.seek_frame(30);
    reader.next(frame);
  }
  try {
    VideoReader broken((dir / "notes.mp4").string());
  } catch (const DataError&) {
  }
  {
    VideoReader reader(media_clip("pcm.avi").string());
    VideoWriter writer((dir / "out.mp4").string(), video_writer_options_like(reader.info()));
    Frame frame;
    for (int k = 0; k < 3 && reader.next(frame); ++k) writer.write(frame);
    if (i % 2) writer.close();  // else: abandoned, as after an error
  }
  Frame still = image_read_rgb(media_clip("frame.png").string());
  image_write_jpeg((dir / "still.jpg").string(), still);
}

// Bytes the heap has handed out and not taken back (small blocks + mmapped ones), in MiB.
double heap_in_use_mib() {
  const struct mallinfo2 m = mallinfo2();
  return double(m.uordblks + m.hblkhd) / (1 << 20);
}

TEST(MediaSlow, RepeatedOpenCloseDoesNotGrow) {
  TempDir dir("media_cycles");
  std::ofstream(dir / "notes.mp4") << "not a video";
  for (int i = 0; i < 20; ++i) media_cycle(dir.path(), i);  // warm up allocator pools
  // Heap bytes in use (glibc's count: FFmpeg's av_malloc goes through malloc), not RSS, which moves by megabytes
  // with trimming and arena growth under load. Two blocks of 150 cycles: a leak grows the heap in both by about the
  // same; a one-off growth (a cache filled once) shows in one block only. A leak of 1 KiB per cycle fails.
  double heap[3];
  heap[0] = heap_in_use_mib();
  for (int block = 1; block <= 2; ++block) {
    for (int i = 0; i < 150; ++i) media_cycle(dir.path(), i);
    heap[block] = heap_in_use_mib();
  }
  std::printf("2 x 150 open/decode/seek/write/close cycles: heap in use %.3f -> %.3f -> %.3f MiB (RSS %.1f MiB)\n",
              heap[0], heap[1], heap[2], process_rss_mib());
  EXPECT_LT(std::min(heap[1] - heap[0], heap[2] - heap[1]), 100.0 / 1024) << "each cycle leaks";
}

}  // namespace
