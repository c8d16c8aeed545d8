#include "media/audio_transfer.h"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
}

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/errors.h"

namespace s3e {

namespace {

// The output rate: the source's when the AAC encoder supports it, else the nearest supported above it.
int aac_sample_rate(const AVCodec* codec, int wanted) {
  if (!codec->supported_samplerates) return wanted;
  int best = 0;
  for (const int* r = codec->supported_samplerates; *r; ++r) {
    if (*r == wanted) return wanted;
    if (*r > wanted && (!best || *r < best)) best = *r;
  }
  return best ? best : 48000;
}

}  // namespace

AudioTransfer::AudioTransfer(const std::string& source, AVFormatContext* out, const MediaLimits& limits)
    : source_(source), out_(out) {
  FfInput in = ff_open_input(source, limits);
  int ai = av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (ai < 0) return;  // no audio to carry
  in_stream_ = in->streams[ai];
  for (unsigned i = 0; i < in->nb_streams; ++i)
    if (static_cast<int>(i) != ai) in->streams[i]->discard = AVDISCARD_ALL;
  // VideoReader reports times from the first video frame; shift audio by the same origin to keep them in sync.
  int vi = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vi >= 0 && in->streams[vi]->start_time != AV_NOPTS_VALUE)
    offset_ = av_rescale_q(in->streams[vi]->start_time, in->streams[vi]->time_base, in_stream_->time_base);

  const AVCodecParameters* par = in_stream_->codecpar;
  copy_ = avformat_query_codec(out->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 1;
  out_stream_ = avformat_new_stream(out, nullptr);
  if (!out_stream_) throw std::bad_alloc();
  if (copy_) {
    int rc = avcodec_parameters_copy(out_stream_->codecpar, par);
    if (rc < 0) throw DataError(fmt::format("{}: audio stream cannot be copied: {}", source, ff_error_text(rc)));
    out_stream_->codecpar->codec_tag = 0;
    out_stream_->time_base = in_stream_->time_base;
    in_ = std::move(in);
    return;
  }

  dec_ = ff_open_decoder(in_stream_, limits, 1, source);
  const AVCodec* aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!aac) throw UsageError("this FFmpeg has no AAC encoder, needed to carry " + source + "'s audio");
  enc_.reset(avcodec_alloc_context3(aac));
  if (!enc_) throw std::bad_alloc();
  enc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
  enc_->sample_rate = aac_sample_rate(aac, dec_->sample_rate > 0 ? dec_->sample_rate : 48000);
  int channels = std::clamp(dec_->ch_layout.nb_channels, 1, 2);
  av_channel_layout_default(&enc_->ch_layout, channels);
  enc_->bit_rate = 64000 * channels;
  enc_->time_base = {1, enc_->sample_rate};
  if (out->oformat->flags & AVFMT_GLOBALHEADER) enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int rc = avcodec_open2(enc_.get(), aac, nullptr);
  if (rc < 0) throw UsageError(fmt::format("cannot open the AAC encoder: {}", ff_error_text(rc)));
  rc = avcodec_parameters_from_context(out_stream_->codecpar, enc_.get());
  if (rc < 0) throw UsageError(fmt::format("AAC stream parameters: {}", ff_error_text(rc)));
  out_stream_->time_base = enc_->time_base;

  SwrContext* swr = nullptr;
  AVChannelLayout in_layout;
  if (dec_->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || !av_channel_layout_check(&dec_->ch_layout))
    av_channel_layout_default(&in_layout, std::max(1, dec_->ch_layout.nb_channels));
  else
    av_channel_layout_copy(&in_layout, &dec_->ch_layout);
  rc = swr_alloc_set_opts2(&swr, &enc_->ch_layout, enc_->sample_fmt, enc_->sample_rate, &in_layout,
                           dec_->sample_fmt, dec_->sample_rate, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  swr_.reset(swr);
  if (rc < 0 || swr_init(swr_.get()) < 0)
    throw DataError(fmt::format("{}: cannot resample its {} audio to AAC", source, avcodec_get_name(par->codec_id)));
  fifo_ = av_audio_fifo_alloc(enc_->sample_fmt, channels, std::max(1, enc_->frame_size));
  if (!fifo_) throw std::bad_alloc();
  in_ = std::move(in);
}

AudioTransfer::~AudioTransfer() {
  if (fifo_) av_audio_fifo_free(fifo_);
}

bool AudioTransfer::read_packet() {
  if (have_pending_) return true;
  if (source_done_) return false;
  for (;;) {
    int rc = av_read_frame(in_.get(), pending_.get());
    if (rc == AVERROR_EOF || (rc < 0 && in_->pb && avio_feof(in_->pb))) {
      source_done_ = true;
      return false;
    }
    if (rc < 0) throw DataError(fmt::format("{}: audio read error: {}", source_, ff_error_text(rc)));
    if (pending_->stream_index == in_stream_->index) break;
    av_packet_unref(pending_.get());
  }
  have_pending_ = true;
  return true;
}

void AudioTransfer::write_packet(AVPacket* pkt) {
  int rc = av_interleaved_write_frame(out_, pkt);
  if (rc < 0) throw TransientError(fmt::format("writing audio failed: {}", ff_error_text(rc)));
}

void AudioTransfer::pump(double seconds) {
  if (!active()) return;
  while (read_packet()) {
    int64_t ts = pending_->pts != AV_NOPTS_VALUE ? pending_->pts : pending_->dts;
    if (ts != AV_NOPTS_VALUE && ff_seconds(ts - offset_, in_stream_->time_base) > seconds) return;
    if (copy_) {
      if (pending_->pts != AV_NOPTS_VALUE) pending_->pts -= offset_;
      if (pending_->dts != AV_NOPTS_VALUE) pending_->dts -= offset_;
      av_packet_rescale_ts(pending_.get(), in_stream_->time_base, out_stream_->time_base);
      pending_->stream_index = out_stream_->index;
      pending_->pos = -1;
      have_pending_ = false;
      write_packet(pending_.get());  // takes the packet's reference
    } else {
      decode_pending();
    }
  }
}

void AudioTransfer::decode_pending() {
  // Called with have_pending_ (a packet) or at the end (flush); sends it and resamples what comes out.
  int rc = avcodec_send_packet(dec_.get(), have_pending_ ? pending_.get() : nullptr);
  if (have_pending_) {
    av_packet_unref(pending_.get());
    have_pending_ = false;
  }
  if (rc < 0 && rc != AVERROR_EOF) return;  // a corrupt audio packet: skip it, as players do
  while (avcodec_receive_frame(dec_.get(), decoded_.get()) >= 0) {
    if (next_sample_ == AV_NOPTS_VALUE) {
      int64_t ts = decoded_->best_effort_timestamp;
      double t = ts == AV_NOPTS_VALUE ? 0 : ff_seconds(ts - offset_, in_stream_->time_base);
      next_sample_ = static_cast<int64_t>(std::llround(std::max(0.0, t) * enc_->sample_rate));
    }
    resample(const_cast<const uint8_t**>(decoded_->extended_data), decoded_->nb_samples);
    av_frame_unref(decoded_.get());
    encode_available(false);
  }
}

// Resamples `in_samples` source samples (none: flush) into the FIFO.
void AudioTransfer::resample(const uint8_t** in, int in_samples) {
  int out_samples = swr_get_out_samples(swr_.get(), in_samples);
  if (out_samples <= 0) return;
  const int channels = enc_->ch_layout.nb_channels;
  std::vector<uint8_t*> planes(channels, nullptr);
  if (av_samples_alloc(planes.data(), nullptr, channels, out_samples, enc_->sample_fmt, 0) < 0) throw std::bad_alloc();
  int got = swr_convert(swr_.get(), planes.data(), out_samples, in, in_samples);
  if (got > 0) av_audio_fifo_write(fifo_, reinterpret_cast<void**>(planes.data()), got);
  av_freep(&planes[0]);
}

void AudioTransfer::encode_frame(AVFrame* frame) {
  int rc = avcodec_send_frame(enc_.get(), frame);
  if (rc < 0 && rc != AVERROR_EOF) throw UsageError(fmt::format("AAC encoding failed: {}", ff_error_text(rc)));
  FfPacket pkt = ff_packet_alloc();
  while (avcodec_receive_packet(enc_.get(), pkt.get()) >= 0) {
    av_packet_rescale_ts(pkt.get(), enc_->time_base, out_stream_->time_base);
    pkt->stream_index = out_stream_->index;
    write_packet(pkt.get());
  }
}

// Encodes whole AAC frames from the FIFO; with `flush`, the short last one too.
void AudioTransfer::encode_available(bool flush) {
  const int frame_size = enc_->frame_size > 0 ? enc_->frame_size : 1024;
  while (av_audio_fifo_size(fifo_) >= frame_size || (flush && av_audio_fifo_size(fifo_) > 0)) {
    int n = std::min(frame_size, av_audio_fifo_size(fifo_));
    FfFrame f = ff_frame_alloc();
    f->nb_samples = n;
    f->format = enc_->sample_fmt;
    f->sample_rate = enc_->sample_rate;
    av_channel_layout_copy(&f->ch_layout, &enc_->ch_layout);
    if (av_frame_get_buffer(f.get(), 0) < 0) throw std::bad_alloc();
    av_audio_fifo_read(fifo_, reinterpret_cast<void**>(f->data), n);
    f->pts = next_sample_;
    next_sample_ += n;
    encode_frame(f.get());
  }
}

void AudioTransfer::finish() {
  if (!active()) return;
  pump(1e300);
  if (copy_) return;
  decode_pending();  // flush the decoder
  resample(nullptr, 0);  // flush the resampler's delay line
  if (next_sample_ == AV_NOPTS_VALUE) next_sample_ = 0;
  encode_available(true);
  encode_frame(nullptr);  // drain the encoder
}

}  // namespace s3e
