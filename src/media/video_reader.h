// video_reader.h — streaming decode of a local video, image or image sequence to upright RGB frames.
//
//   s3e::VideoReader reader("clip.mp4");            // or "photo.jpg", or "frames/frame_%05d.png"
//   const s3e::VideoInfo& info = reader.info();      // size, fps, duration, codec, rotation, audio streams
//   s3e::Frame frame;
//   while (reader.next(frame)) use(frame);           // frame.rgb (RGB24), frame.pts (s), frame.index
//   reader.seek_frame(120); reader.next(frame);      // frame.index == 120
//
// What it guarantees:
// - Only local files are opened (FFmpeg protocol whitelist `file`); URLs, playlists (HLS, DASH, concat) and other
//   formats that pull in further files are refused.
// - Header values are checked against MediaLimits before decoding (absurd sizes, durations, frame counts).
// - Frames come out as displayed: the container's rotation (phone clips) is applied, and non-square pixels
//   (sample aspect ratio) are scaled to square ones, so info().width/height is the size of every frame.
// - Timestamps are the source's (variable frame rate is kept), in seconds from the first frame.
// - Memory stays flat however long the video: one decoded frame at a time.
// - Errors are DataError naming the file and FFmpeg's reason; a container that declares more frames than the
//   file holds (a truncated MP4/AVI) fails at its end instead of silently returning fewer frames.
// Not thread-safe; use one reader per thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "media/frame.h"
#include "media/media_limits.h"

namespace s3e {

struct AudioStreamInfo {
  int stream_index = -1;
  std::string codec;  // FFmpeg codec name ("aac", "pcm_s16le", "mp3")
  int sample_rate = 0;
  int channels = 0;
  double duration_s = 0;  // 0 when the container does not say
};

struct VideoInfo {
  std::string path;
  std::string container;   // FFmpeg demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "image2")
  int stream_index = -1;   // the video stream decoded (FFmpeg's "best" one)
  std::string codec;       // "h264", "hevc", "vp9", "mpeg4", "mjpeg", "png", ...
  int width = 0;           // size of every returned frame: after rotation and square-pixel scaling
  int height = 0;
  int coded_width = 0;     // size as stored
  int coded_height = 0;
  int rotation = 0;        // clockwise degrees applied to the stored picture: 0, 90, 180, 270
  int sar_num = 1, sar_den = 1;       // sample (pixel) aspect ratio as stored
  int fps_num = 0, fps_den = 1;       // nominal frame rate (average where known)
  double fps = 0;
  int time_base_num = 1, time_base_den = 1;  // the stream's timestamp unit
  double duration_s = 0;                     // of the video stream (or the container), 0 if unknown
  int64_t frame_count = 0;                   // declared by the container, else estimated from duration x fps
  bool frame_count_exact = false;            // true when declared by the container
  bool variable_frame_rate = false;          // nominal and average rates differ (see VideoReader::frame_times)
  bool is_image = false;                     // a still image or an image sequence
  std::vector<AudioStreamInfo> audio;
};

class VideoReader {
 public:
  // Opens `path` and its decoder; `threads` decoder threads (0: FFmpeg decides). Throws DataError.
  explicit VideoReader(const std::string& path, const MediaLimits& limits = MediaLimits(), int threads = 1);
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;

  // Decodes the next frame into `frame` (its buffer is reused); false at the end of the stream.
  bool next(Frame& frame);

  // Positions the reader so that the next call to next() returns frame `index` (0-based, presentation order).
  // Exact on every format (decodes from the preceding keyframe). Throws UsageError past the last frame.
  void seek_frame(int64_t index);
  // Positions the reader on the first frame shown at or after `seconds`.
  void seek_time(double seconds);

  // Exact number of frames, from a scan of the file's packets (no decoding; cached).
  int64_t count_frames();
  // Presentation time (s) of every frame, in order (same scan as count_frames).
  const std::vector<double>& frame_times();

  // Packets the decoder rejected so far (corrupt data it skipped over).
  int64_t decode_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s3e
