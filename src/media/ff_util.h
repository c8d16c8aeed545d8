// ff_util.h — internal to the media module: owning handles for FFmpeg objects (so that no context, frame or
// packet leaks on any error path), FFmpeg error text, and the one safe way to open an input file.
#pragma once
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "media/media_limits.h"

namespace s3e {

struct FfInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct FfCodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FfFrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct FfPacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FfSwsDeleter {
  void operator()(SwsContext* c) const { sws_freeContext(c); }
};
struct FfSwrDeleter {
  void operator()(SwrContext* c) const { swr_free(&c); }
};
using FfInput = std::unique_ptr<AVFormatContext, FfInputDeleter>;
using FfCodec = std::unique_ptr<AVCodecContext, FfCodecDeleter>;
using FfFrame = std::unique_ptr<AVFrame, FfFrameDeleter>;
using FfPacket = std::unique_ptr<AVPacket, FfPacketDeleter>;
using FfSws = std::unique_ptr<SwsContext, FfSwsDeleter>;
using FfSwr = std::unique_ptr<SwrContext, FfSwrDeleter>;

FfFrame ff_frame_alloc();
FfPacket ff_packet_alloc();

// FFmpeg's text for an error code ("Invalid data found when processing input").
std::string ff_error_text(int code);

// Quietens FFmpeg's own logging to errors only (our exceptions carry the reason); idempotent.
void ff_log_init();

// Opens a local media file, an image, or an image sequence pattern ("frame_%05d.png") for demuxing: only the
// `file` protocol, no playlists or formats that pull in other files or URLs, header dimensions checked against
// `limits` before any decoding; then the stream parameters are probed (decoding a few frames, with the decoders'
// max_pixels set from the limits). Throws DataError naming the file and FFmpeg's reason.
FfInput ff_open_input(const std::string& path, const MediaLimits& limits);

// Opens a decoder for stream `st` of an input (threads: decoder threads, 0 = FFmpeg's choice).
FfCodec ff_open_decoder(const AVStream* st, const MediaLimits& limits, int threads, const std::string& path);

// sws_scale into a packed buffer of `dst_h` rows of `row_bytes` (resized to fit). swscale's SIMD paths write whole
// blocks past a row's end, so rows that are not 64-byte multiples go through `scratch` with padded strides.
void ff_scale_to_packed(SwsContext* sws, const uint8_t* const src[], const int src_stride[], int src_h,
                        std::vector<uint8_t>& dst, int row_bytes, int dst_h, std::vector<uint8_t>& scratch);
// Copies `rows` rows of `row_bytes` into `padded` with 64-byte aligned strides and tail padding, as swscale's
// sources need (it may read past a row's end); returns the stride.
int ff_pad_packed(const uint8_t* src, int row_bytes, int rows, std::vector<uint8_t>& padded);

// Seconds of a timestamp in a time base; NaN for AV_NOPTS_VALUE.
double ff_seconds(int64_t ts, AVRational tb);

}  // namespace s3e
