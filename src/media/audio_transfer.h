// audio_transfer.h — internal to the media module: carries the audio of a source file into an output being
// muxed by VideoWriter. Stream copy where the output container can hold the codec; otherwise decode, resample
// and encode to AAC. Audio is written in step with the video (pump) so the muxer interleaves without buffering
// the whole file.
#pragma once
#include <string>

extern "C" {
#include <libavutil/audio_fifo.h>
}

#include "media/ff_util.h"

namespace s3e {

class AudioTransfer {
 public:
  // Opens the best audio stream of `source` (none: active() is false) and adds the matching output stream to
  // `out` (call before avformat_write_header). Source timestamps are shifted so that the source's first video
  // frame is at 0, as VideoReader reports it.
  AudioTransfer(const std::string& source, AVFormatContext* out, const MediaLimits& limits);
  ~AudioTransfer();

  bool active() const { return static_cast<bool>(in_); }
  bool copying() const { return copy_; }
  // Writes the source audio that starts before `seconds` (output timeline).
  void pump(double seconds);
  // Writes the rest and flushes the encoder.
  void finish();

 private:
  bool read_packet();  // next source audio packet into pending_; false at the end
  void write_packet(AVPacket* pkt);
  void encode_available(bool flush);
  void encode_frame(AVFrame* frame);
  void decode_pending();
  void resample(const uint8_t** in, int in_samples);

  std::string source_;
  AVFormatContext* out_ = nullptr;
  FfInput in_;
  AVStream* in_stream_ = nullptr;
  AVStream* out_stream_ = nullptr;
  FfPacket pending_ = ff_packet_alloc();
  bool have_pending_ = false;
  bool source_done_ = false;
  int64_t offset_ = 0;  // source video start, in the audio stream's time base
  bool copy_ = true;

  // Re-encode path.
  FfCodec dec_, enc_;
  FfSwr swr_;
  AVAudioFifo* fifo_ = nullptr;
  FfFrame decoded_ = ff_frame_alloc();
  int64_t next_sample_ = AV_NOPTS_VALUE;  // pts (in 1/sample_rate) of the next encoded sample
};

}  // namespace s3e
