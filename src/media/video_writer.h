// video_writer.h — encodes RGB frames to H.264 (libx264) in MP4 (or MKV/MOV, by the file's extension), keeping
// the frames' timestamps, and carries a source file's audio over.
//
//   s3e::VideoReader reader("in.mp4");
//   s3e::VideoWriter writer("out.mp4", s3e::video_writer_options_like(reader.info()));
//   s3e::Frame frame;
//   while (reader.next(frame)) writer.write(edit(frame));
//   writer.close();                      // only now does out.mp4 appear
//
// - Frame times: frame.pts (seconds) when set (>= 0, strictly increasing), else frame n at n / fps. Each packet's
//   duration is the gap to the next frame (the last repeats the previous gap), so the muxer drops no frame and a
//   variable-frame-rate source keeps its timing.
// - Size: fixed by the first frame; 4:2:0 needs even sizes, so an odd last row/column is cropped.
// - Audio (options.audio_source): the source's best audio stream, copied when the container can hold its codec,
//   otherwise re-encoded to AAC; its timing follows the source's first video frame, as VideoReader reports it.
// - The file is written as "<dir>/.<name>.tmp.<pid>" and renamed by close(); a writer destroyed without close()
//   (an exception, say) removes it, so nothing is ever left under the final name on failure.
// Errors: UsageError for bad options, frames or an unwritable destination; DataError for an unreadable audio
// source; TransientError when the disk fails mid-write.
#pragma once
#include <memory>
#include <string>

#include "media/frame.h"
#include "media/media_limits.h"

namespace s3e {

struct VideoInfo;

struct VideoWriterOptions {
  int fps_num = 25, fps_den = 1;            // nominal rate (rate control, and times of frames without pts)
  int time_base_num = 0, time_base_den = 0;  // timestamp unit; 0/0: 1/fps
  int crf = 18;                              // x264 constant rate factor: 0 lossless .. 51 worst
  std::string preset = "fast";               // x264 preset: ultrafast .. veryslow
  int threads = 1;                           // encoder threads (0: x264 decides)
  std::string audio_source;                  // file whose audio to carry over; empty: no audio
  MediaLimits limits;                        // applied when opening audio_source
};

// Options matching a source: its frame rate, its time base (so timestamps survive exactly) and its audio.
VideoWriterOptions video_writer_options_like(const VideoInfo& source);

class VideoWriter {
 public:
  // Checks the destination (folder writable, container known and able to hold H.264); throws UsageError.
  VideoWriter(const std::string& path, const VideoWriterOptions& options = VideoWriterOptions());
  ~VideoWriter();  // without close(): discards the partial file
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const Frame& frame);
  // Flushes the encoder, writes the remaining audio, finishes the container and renames it into place.
  void close();

  int64_t frames_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s3e
