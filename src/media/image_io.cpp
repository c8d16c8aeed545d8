#include "media/image_io.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/errors.h"
#include "core/file_util.h"
#include "media/ff_util.h"
#include "media/video_reader.h"

namespace s3e {

namespace {

void check_frame(const std::string& path, const Frame& frame) {
  if (frame.width <= 0 || frame.height <= 0 || frame.rgb.size() != static_cast<size_t>(frame.width) * frame.height * 3)
    throw UsageError(fmt::format("{}: cannot write a {}x{} frame holding {} bytes", path, frame.width, frame.height,
                                 frame.rgb.size()));
}

// Encodes one frame with `codec_id` in `pix_fmt` and returns the bitstream (a whole PNG or JPEG file).
std::string image_encode(const std::string& path, const Frame& frame, AVCodecID codec_id, AVPixelFormat pix_fmt,
                         int qscale) {
  ff_log_init();
  const AVCodec* codec = avcodec_find_encoder(codec_id);
  if (!codec) throw UsageError(fmt::format("{}: this FFmpeg has no {} encoder", path, avcodec_get_name(codec_id)));
  FfCodec enc(avcodec_alloc_context3(codec));
  if (!enc) throw std::bad_alloc();
  enc->width = frame.width;
  enc->height = frame.height;
  enc->pix_fmt = pix_fmt;
  enc->time_base = {1, 25};
  if (qscale > 0) {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * qscale;
    enc->color_range = AVCOL_RANGE_JPEG;
  }
  int rc = avcodec_open2(enc.get(), codec, nullptr);
  if (rc < 0) throw UsageError(fmt::format("{}: cannot open the {} encoder: {}", path, codec->name, ff_error_text(rc)));

  FfFrame pic = ff_frame_alloc();
  pic->width = frame.width;
  pic->height = frame.height;
  pic->format = pix_fmt;
  pic->color_range = enc->color_range;
  rc = av_frame_get_buffer(pic.get(), 0);
  if (rc < 0) throw std::bad_alloc();
  FfSws sws(sws_getContext(frame.width, frame.height, AV_PIX_FMT_RGB24, frame.width, frame.height, pix_fmt,
                           SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!sws) throw UsageError(fmt::format("{}: cannot convert RGB to {}", path, av_get_pix_fmt_name(pix_fmt)));
  std::vector<uint8_t> padded;
  int src_stride[4] = {ff_pad_packed(frame.rgb.data(), frame.width * 3, frame.height, padded), 0, 0, 0};
  const uint8_t* src[4] = {padded.data(), nullptr, nullptr, nullptr};
  sws_scale(sws.get(), src, src_stride, 0, frame.height, pic->data, pic->linesize);

  std::string bytes;
  FfPacket pkt = ff_packet_alloc();
  rc = avcodec_send_frame(enc.get(), pic.get());
  if (rc >= 0) rc = avcodec_send_frame(enc.get(), nullptr);
  while (rc >= 0) {
    rc = avcodec_receive_packet(enc.get(), pkt.get());
    if (rc < 0) break;
    bytes.append(reinterpret_cast<const char*>(pkt->data), pkt->size);
    av_packet_unref(pkt.get());
  }
  if (rc != AVERROR_EOF)
    throw UsageError(fmt::format("{}: {} encoding failed: {}", path, codec->name, ff_error_text(rc)));
  return bytes;
}

void image_write(const std::string& path, const Frame& frame, AVCodecID codec_id, AVPixelFormat pix_fmt,
                 int qscale) {
  check_frame(path, frame);
  std::filesystem::path final_path(path);
  file_ensure_writable_dir(final_path.parent_path().empty() ? "." : final_path.parent_path());
  std::string bytes = image_encode(path, frame, codec_id, pix_fmt, qscale);
  file_write_atomic(final_path, bytes);
}

}  // namespace

Frame image_read_rgb(const std::string& path, const MediaLimits& limits) {
  VideoReader reader(path, limits);
  Frame frame;
  if (!reader.next(frame)) throw DataError(fmt::format("{}: holds no picture", path));
  frame.pts = 0;
  frame.index = 0;
  return frame;
}

void image_write_png(const std::string& path, const Frame& frame) {
  image_write(path, frame, AV_CODEC_ID_PNG, AV_PIX_FMT_RGB24, 0);
}

std::string image_encode_png(const Frame& frame, const std::string& what) {
  check_frame(what, frame);
  return image_encode(what, frame, AV_CODEC_ID_PNG, AV_PIX_FMT_RGB24, 0);
}

void image_write_jpeg(const std::string& path, const Frame& frame, int quality) {
  if (quality < 1 || quality > 100)
    throw UsageError(fmt::format("{}: JPEG quality {} is outside 1..100", path, quality));
  // MJPEG's quantiser scale 2 (best) .. 31 (worst).
  int qscale = 2 + (100 - quality) * 29 / 99;
  image_write(path, frame, AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ420P, qscale);
}

}  // namespace s3e
