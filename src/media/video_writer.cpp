#include "media/video_writer.h"

extern "C" {
#include <libavutil/opt.h>
}

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include "core/errors.h"
#include "core/file_util.h"
#include "media/audio_transfer.h"
#include "media/ff_util.h"
#include "media/video_reader.h"

namespace fs = std::filesystem;

namespace s3e {

VideoWriterOptions video_writer_options_like(const VideoInfo& source) {
  VideoWriterOptions o;
  if (source.fps_num > 0 && source.fps_den > 0) {
    o.fps_num = source.fps_num;
    o.fps_den = source.fps_den;
  }
  if (source.time_base_num > 0 && source.time_base_den > 0) {
    o.time_base_num = source.time_base_num;
    o.time_base_den = source.time_base_den;
  }
  if (!source.audio.empty()) o.audio_source = source.path;
  return o;
}

struct VideoWriter::Impl {
  std::string path;
  fs::path temp;
  VideoWriterOptions opt;
  AVRational fps{25, 1}, tb{1, 25};
  const AVOutputFormat* ofmt = nullptr;
  AVFormatContext* oc = nullptr;
  FfCodec enc;
  AVStream* vst = nullptr;
  FfSws sws;
  FfFrame pending = ff_frame_alloc();  // the last frame given, held until the next one fixes its duration
  FfPacket pkt = ff_packet_alloc();
  std::unique_ptr<AudioTransfer> audio;
  std::vector<uint8_t> padded;          // the RGB input with swscale-safe strides
  std::map<int64_t, int64_t> durations;  // frame pts -> duration, looked up when its packet comes out
  int width = 0, height = 0;
  bool header_written = false, committed = false, have_pending = false;
  int64_t frames = 0, last_ticks = 0, last_gap = 0;

  ~Impl();
  void open_streams(int w, int h);
  void send(AVFrame* frame);
};

VideoWriter::Impl::~Impl() {
  audio.reset();
  if (oc) {
    if (oc->pb) avio_closep(&oc->pb);
    avformat_free_context(oc);
  }
  if (!committed && !temp.empty()) {
    std::error_code ec;
    fs::remove(temp, ec);
  }
}

void VideoWriter::Impl::open_streams(int w, int h) {
  width = w;
  height = h;
  const int enc_w = w & ~1, enc_h = h & ~1;
  if (enc_w < 2 || enc_h < 2) throw UsageError(fmt::format("{}: cannot encode {}x{} frames", path, w, h));
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!codec) throw UsageError("this FFmpeg has no H.264 encoder");
  enc.reset(avcodec_alloc_context3(codec));
  if (!enc) throw std::bad_alloc();
  enc->width = enc_w;
  enc->height = enc_h;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = tb;
  enc->framerate = fps;
  enc->thread_count = opt.threads;
  // sws converts with BT.601 limited-range coefficients: tag the stream so that players invert the same matrix.
  enc->colorspace = AVCOL_SPC_SMPTE170M;
  enc->color_range = AVCOL_RANGE_MPEG;
  if (ofmt->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "preset", opt.preset.c_str(), 0);
  av_dict_set(&opts, "crf", std::to_string(opt.crf).c_str(), 0);
  int rc = avcodec_open2(enc.get(), codec, &opts);
  av_dict_free(&opts);
  if (rc < 0)
    throw UsageError(fmt::format("{}: cannot open the {} encoder (preset '{}', crf {}): {}", path, codec->name,
                                 opt.preset, opt.crf, ff_error_text(rc)));
  vst = avformat_new_stream(oc, nullptr);
  if (!vst) throw std::bad_alloc();
  vst->time_base = tb;
  vst->avg_frame_rate = fps;
  rc = avcodec_parameters_from_context(vst->codecpar, enc.get());
  if (rc < 0) throw UsageError(fmt::format("{}: {}", path, ff_error_text(rc)));

  if (!opt.audio_source.empty()) {
    audio = std::make_unique<AudioTransfer>(opt.audio_source, oc, opt.limits);
    if (!audio->active()) audio.reset();
  }
  rc = avio_open2(&oc->pb, temp.c_str(), AVIO_FLAG_WRITE, nullptr, nullptr);
  if (rc < 0) throw UsageError(fmt::format("{}: cannot be written: {}", temp.string(), ff_error_text(rc)));
  rc = avformat_write_header(oc, nullptr);
  if (rc < 0) throw UsageError(fmt::format("{}: cannot write the {} header: {}", path, ofmt->name, ff_error_text(rc)));
  header_written = true;

  sws.reset(sws_getContext(enc_w, enc_h, AV_PIX_FMT_RGB24, enc_w, enc_h, AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr,
                           nullptr, nullptr));
  if (!sws) throw UsageError(fmt::format("{}: cannot convert RGB to YUV 4:2:0", path));
  pending->width = enc_w;
  pending->height = enc_h;
  pending->format = AV_PIX_FMT_YUV420P;
  if (av_frame_get_buffer(pending.get(), 0) < 0) throw std::bad_alloc();
}

// Sends one frame (nullptr: end of stream) and writes the packets that come out, then the audio up to it.
void VideoWriter::Impl::send(AVFrame* frame) {
  int rc = avcodec_send_frame(enc.get(), frame);
  if (rc < 0) throw UsageError(fmt::format("{}: encoding failed: {}", path, ff_error_text(rc)));
  while ((rc = avcodec_receive_packet(enc.get(), pkt.get())) >= 0) {
    auto it = durations.find(pkt->pts);
    if (it != durations.end()) {
      pkt->duration = it->second;
      durations.erase(it);
    }
    av_packet_rescale_ts(pkt.get(), tb, vst->time_base);
    pkt->stream_index = vst->index;
    rc = av_interleaved_write_frame(oc, pkt.get());
    if (rc < 0) throw TransientError(fmt::format("{}: write failed: {}", temp.string(), ff_error_text(rc)));
  }
  if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
    throw UsageError(fmt::format("{}: encoding failed: {}", path, ff_error_text(rc)));
  if (audio && frame) audio->pump(ff_seconds(frame->pts, tb));
}

VideoWriter::VideoWriter(const std::string& path, const VideoWriterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  ff_log_init();
  Impl& m = *impl_;
  m.path = path;
  m.opt = options;
  if (options.fps_num <= 0 || options.fps_den <= 0)
    throw UsageError(fmt::format("{}: frame rate {}/{} is not positive", path, options.fps_num, options.fps_den));
  if (options.crf < 0 || options.crf > 51) throw UsageError(fmt::format("{}: crf {} is outside 0..51", path, options.crf));
  if (options.threads < 0) throw UsageError(fmt::format("{}: encoder threads {} < 0", path, options.threads));
  m.fps = {options.fps_num, options.fps_den};
  m.tb = options.time_base_num > 0 && options.time_base_den > 0
             ? AVRational{options.time_base_num, options.time_base_den}
             : av_inv_q(m.fps);
  fs::path final_path(path);
  std::error_code ec;
  if (fs::is_directory(final_path, ec)) throw UsageError(fmt::format("{}: is a folder, not a video file name", path));
  m.ofmt = av_guess_format(nullptr, path.c_str(), nullptr);
  if (!m.ofmt || avformat_query_codec(m.ofmt, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) != 1)
    throw UsageError(fmt::format("{}: the file extension names no container for H.264 video; use .mp4, .mkv or .mov",
                                 path));
  file_ensure_writable_dir(final_path.parent_path().empty() ? fs::path(".") : final_path.parent_path());
  m.temp = file_temp_path(final_path);
  int rc = avformat_alloc_output_context2(&m.oc, m.ofmt, nullptr, m.temp.c_str());
  if (rc < 0) throw UsageError(fmt::format("{}: {}", path, ff_error_text(rc)));
}

VideoWriter::~VideoWriter() = default;

int64_t VideoWriter::frames_written() const { return impl_->frames; }

void VideoWriter::write(const Frame& frame) {
  Impl& m = *impl_;
  if (m.committed) throw UsageError(fmt::format("{}: write() after close()", m.path));
  if (frame.width <= 0 || frame.height <= 0 ||
      frame.rgb.size() != static_cast<size_t>(frame.width) * frame.height * 3)
    throw UsageError(fmt::format("{}: frame {} is {}x{} but holds {} bytes", m.path, frame.index, frame.width,
                                 frame.height, frame.rgb.size()));
  if (!m.header_written) m.open_streams(frame.width, frame.height);
  if (frame.width != m.width || frame.height != m.height)
    throw UsageError(fmt::format("{}: frame {} is {}x{}, but the video is {}x{}", m.path, frame.index, frame.width,
                                 frame.height, m.width, m.height));
  int64_t ticks = frame.pts >= 0 ? std::llround(frame.pts / av_q2d(m.tb)) : av_rescale_q(m.frames, av_inv_q(m.fps), m.tb);
  if (m.frames > 0 && ticks <= m.last_ticks)
    throw UsageError(fmt::format("{}: frame {} at {:.6f} s does not come after the previous frame", m.path,
                                 frame.index, frame.pts));
  if (m.have_pending) {
    m.last_gap = ticks - m.last_ticks;
    m.durations[m.last_ticks] = m.last_gap;
    m.send(m.pending.get());
  }
  // The encoder may still reference the previous picture's buffer.
  if (av_frame_make_writable(m.pending.get()) < 0) throw std::bad_alloc();
  // Only the even part is encoded: the source rectangle keeps the full row stride (crops an odd last column).
  int src_stride[4] = {ff_pad_packed(frame.rgb.data(), frame.width * 3, m.enc->height, m.padded), 0, 0, 0};
  const uint8_t* src[4] = {m.padded.data(), nullptr, nullptr, nullptr};
  sws_scale(m.sws.get(), src, src_stride, 0, m.enc->height, m.pending->data, m.pending->linesize);
  m.pending->pts = ticks;
  m.have_pending = true;
  m.last_ticks = ticks;
  ++m.frames;
}

void VideoWriter::close() {
  Impl& m = *impl_;
  if (m.committed) return;
  if (!m.header_written) throw UsageError(fmt::format("{}: no frames were written", m.path));
  if (m.have_pending) {
    // The last frame lasts as long as the one before it (one nominal frame when it is the only one).
    int64_t gap = m.last_gap > 0 ? m.last_gap : std::max<int64_t>(1, av_rescale_q(1, av_inv_q(m.fps), m.tb));
    m.durations[m.last_ticks] = gap;
    m.send(m.pending.get());
    m.have_pending = false;
  }
  m.send(nullptr);
  if (m.audio) m.audio->finish();
  int rc = av_write_trailer(m.oc);
  if (rc < 0) throw TransientError(fmt::format("{}: finishing the file failed: {}", m.temp.string(), ff_error_text(rc)));
  rc = avio_closep(&m.oc->pb);
  if (rc < 0) throw TransientError(fmt::format("{}: closing failed: {}", m.temp.string(), ff_error_text(rc)));
  file_commit(m.temp, m.path);
  m.committed = true;
}

}  // namespace s3e
