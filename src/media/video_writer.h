// video_writer.h — encodes RGB frames to H.264, H.265, VP9 or lossless FFV1 in MP4, MKV, MOV or WebM (by the
// file's extension), keeping the frames' timestamps, and carries a source file's audio over.
//
//   s3e::VideoReader reader("in.mp4");
//   s3e::VideoWriterOptions options = s3e::video_writer_options_like(reader.info());
//   options.codec = "h265";              // or "h264" (default), "vp9", "ffv1"; config keys edit.codec/crf/preset
//   s3e::VideoWriter writer("out.mp4", options);
//   s3e::Frame frame;
//   while (reader.next(frame)) writer.write(edit(frame));
//   writer.close();                      // only now does out.mp4 appear
//
// Codecs (docs/media.md has the table):
//   h264  libx264     yuv420p  .mp4 .mkv .mov        crf 0..51  preset: x264's
//   h265  libx265     yuv420p  .mp4 .mkv .mov        crf 0..51  preset: x265's   (tagged hvc1 in MP4/MOV)
//   vp9   libvpx-vp9  yuv420p  .mp4 .mkv .webm       crf 0..63  preset -> deadline/cpu-used (constant quality, b=0)
//   ffv1  FFV1        bgr0     .mkv                  lossless (RGB as given): crf and preset ignored
// - Presets are ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo for every
//   lossy codec; the codec, crf range, preset and container are all checked by the constructor.
// - Lossless: with "ffv1" a frame read back by VideoReader has exactly the RGB bytes written (odd sizes too).
// - Deterministic: the same frames and options give a byte-identical file, run after run and process after process,
//   for every codec (threads 1, the default; MKV/WebM are written bit-exact, without random UIDs). x265 writes no
//   settings SEI (it names the CPU's features, which would make files differ between machines).
// - Frame times: frame.pts (seconds) when set (>= 0, strictly increasing), else frame n at n / fps. Each packet's
//   duration is the gap to the next frame (the last repeats the previous gap), so the muxer drops no frame and a
//   variable-frame-rate source keeps its timing. MKV/WebM store times in milliseconds.
// - Size: fixed by the first frame; 4:2:0 (h264, h265, vp9) needs even sizes, so an odd last row/column is cropped;
//   ffv1 keeps every pixel.
// - Audio (options.audio_source): the source's best audio stream, copied when the container can hold its codec,
//   otherwise re-encoded to AAC (so WebM, which holds no AAC, refuses other sources' audio: UsageError at the first
//   frame); its timing follows the source's first video frame, as VideoReader reports it.
// - The file is written as "<dir>/.<name>.tmp.<pid>" and renamed by close(); a writer destroyed without close()
//   (an exception, say) removes it, so nothing is ever left under the final name on failure.
// Errors: UsageError for bad options (unknown codec or preset, crf out of range, a container that cannot hold the
// codec: the message lists those that can), frames or an unwritable destination; DataError for an unreadable audio
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
  std::string codec = "h264";                // "h264", "h265", "vp9" or "ffv1" (lossless)
  int crf = 18;                              // constant rate factor: 0 best .. 51 worst (vp9: .. 63); ffv1 ignores it
  std::string preset = "fast";               // speed: ultrafast .. veryslow, placebo (vp9: mapped); ffv1 ignores it
  int threads = 1;                           // encoder threads (0: the encoder decides; output may vary by machine)
  std::string container;                     // "mp4", "mkv", "mov", "webm"; empty: by the file name's extension
  std::string audio_source;                  // file whose audio to carry over; empty: no audio
  MediaLimits limits;                        // applied when opening audio_source
};

// Options matching a source: its frame rate, its time base (so timestamps survive exactly) and its audio.
VideoWriterOptions video_writer_options_like(const VideoInfo& source);

class VideoWriter {
 public:
  // Checks the options (codec, crf range, preset) and the destination (folder writable, container known and able to
  // hold the codec); throws UsageError.
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
