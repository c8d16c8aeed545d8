#include "media/video_reader.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/errors.h"
#include "media/ff_util.h"

namespace s3e {

namespace {

bool rational_valid(AVRational r) { return r.num > 0 && r.den > 0; }

// Clockwise rotation (0/90/180/270) that displays the stored picture upright, as the ffmpeg CLI applies it.
int stream_rotation(const AVStream* st) {
  size_t size = 0;
  const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (!matrix || size < 9 * sizeof(int32_t)) return 0;
  double theta = -av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));  // counterclockwise -> cw
  if (std::isnan(theta)) return 0;
  int quarter = static_cast<int>(std::lround(theta / 90.0));
  return ((quarter % 4) + 4) % 4 * 90;
}

// Rotates a packed RGB24 picture of w x h clockwise by `degrees` into `out` (size swapped for 90/270).
void rgb_rotate(const uint8_t* in, int w, int h, int degrees, uint8_t* out) {
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = in + static_cast<size_t>(y) * w * 3;
    for (int x = 0; x < w; ++x) {
      int ox, oy, ow;
      if (degrees == 90) { ox = h - 1 - y; oy = x; ow = h; }
      else if (degrees == 180) { ox = w - 1 - x; oy = h - 1 - y; ow = w; }
      else { ox = y; oy = w - 1 - x; ow = h; }  // 270
      std::memcpy(out + (static_cast<size_t>(oy) * ow + ox) * 3, row + x * 3, 3);
    }
  }
}

bool pix_fmt_is_full_range_yuv(int fmt) {
  return fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
         fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P;
}

}  // namespace

struct VideoReader::Impl {
  std::string path;
  MediaLimits limits;
  int threads = 1;
  VideoInfo info;

  FfInput ic;
  FfCodec dec;
  AVStream* st = nullptr;
  FfFrame frame = ff_frame_alloc();
  FfPacket pkt = ff_packet_alloc();
  int64_t start_pts = 0;  // stream timestamps are reported relative to this
  int upright_width = 0, upright_height = 0;  // square-pixel size before rotation

  FfSws sws;
  int sws_colorspace = -1, sws_full_range = -1;
  std::vector<uint8_t> scratch, rotated;

  bool demux_eof = false;
  bool from_start = true;     // no seek yet: the truncation check at the end is meaningful
  int64_t next_index = 0;
  int64_t packets_read = 0;   // of the video stream, for the truncation check
  int64_t decode_errors = 0;
  std::string last_decode_error;
  double last_time = -1;

  // Frame index: presentation timestamps of all frames, sorted (built by a packet scan on first seek).
  bool index_built = false;
  std::vector<int64_t> index_pts;
  std::vector<double> index_times;
  int64_t seek_target = -1;   // >= 0: drop decoded frames until this one
  bool seek_by_count = false; // after a rewind: frames are identified by counting, not by timestamp
  int seek_attempt = 0;
  bool index_missing_pts = false;           // some packets carry no pts: seek early, count from stamped frames
  int64_t seek_anchor = AV_NOPTS_VALUE;     // pts of the last stamped frame decoded since the seek
  int64_t seek_anchor_frames = 0;           // frames decoded since it
  int64_t frame_period = 1;                 // one nominal frame in stream time base units

  void open();
  void fill_info();
  bool read_decoded();
  void note_decode_error(int rc);
  void convert(Frame& out);
  void build_index();
  void seek_to_pts(int64_t ts);
  void rewind();
  int64_t index_of(int64_t ts) const;
  double seconds_of(int64_t ts) const { return ff_seconds(ts - start_pts, st->time_base); }
};

void VideoReader::Impl::open() {
  ic = ff_open_input(path, limits);
  int si = av_find_best_stream(ic.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (si < 0) {
    std::string kinds;
    for (unsigned i = 0; i < ic->nb_streams; ++i)
      kinds += fmt::format("{}{}", i ? ", " : "", av_get_media_type_string(ic->streams[i]->codecpar->codec_type)
                                                     ? av_get_media_type_string(ic->streams[i]->codecpar->codec_type)
                                                     : "unknown");
    throw DataError(fmt::format("{}: has no video stream (streams: {})", path, kinds.empty() ? "none" : kinds));
  }
  st = ic->streams[si];
  // Only the video stream is demuxed; the others are skipped cheaply.
  for (unsigned i = 0; i < ic->nb_streams; ++i)
    if (static_cast<int>(i) != si) ic->streams[i]->discard = AVDISCARD_ALL;
  start_pts = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  fill_info();
  frame_period = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(AVRational{info.fps_num, info.fps_den}),
                                                   st->time_base));
  dec = ff_open_decoder(st, limits, threads, path);
  demux_eof = false;
}

void VideoReader::Impl::fill_info() {
  const AVCodecParameters* par = st->codecpar;
  VideoInfo& v = info;
  v.path = path;
  v.container = ic->iformat->name;
  v.stream_index = st->index;
  v.codec = avcodec_get_name(par->codec_id);
  v.coded_width = par->width;
  v.coded_height = par->height;
  if (par->width <= 0 || par->height <= 0)
    throw DataError(fmt::format("{}: the video stream's picture size cannot be determined", path));
  AVRational sar = rational_valid(st->sample_aspect_ratio) ? st->sample_aspect_ratio : par->sample_aspect_ratio;
  if (!rational_valid(sar)) sar = {1, 1};
  av_reduce(&sar.num, &sar.den, sar.num, sar.den, 1 << 16);
  v.sar_num = sar.num;
  v.sar_den = sar.den;
  // Square pixels by stretching, never shrinking: wide pixels widen the picture, tall ones heighten it.
  upright_width = par->width;
  upright_height = par->height;
  if (sar.num > sar.den) upright_width = static_cast<int>(std::lround(par->width * av_q2d(sar)));
  if (sar.num < sar.den) upright_height = static_cast<int>(std::lround(par->height / av_q2d(sar)));
  v.rotation = stream_rotation(st);
  v.width = (v.rotation % 180) ? upright_height : upright_width;
  v.height = (v.rotation % 180) ? upright_width : upright_height;

  AVRational rate = rational_valid(st->avg_frame_rate) ? st->avg_frame_rate : st->r_frame_rate;
  if (!rational_valid(rate)) rate = {25, 1};
  v.fps_num = rate.num;
  v.fps_den = rate.den;
  v.fps = av_q2d(rate);
  v.variable_frame_rate = rational_valid(st->avg_frame_rate) && rational_valid(st->r_frame_rate) &&
                          std::fabs(av_q2d(st->avg_frame_rate) / av_q2d(st->r_frame_rate) - 1) > 0.01;
  v.time_base_num = st->time_base.num;
  v.time_base_den = st->time_base.den;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    v.duration_s = ff_seconds(st->duration, st->time_base);
  else if (ic->duration != AV_NOPTS_VALUE && ic->duration > 0)
    v.duration_s = static_cast<double>(ic->duration) / AV_TIME_BASE;
  v.frame_count_exact = st->nb_frames > 0;
  v.frame_count = st->nb_frames > 0 ? st->nb_frames : static_cast<int64_t>(std::llround(v.duration_s * v.fps));
  std::string container = v.container;
  v.is_image = container.find("image2") != std::string::npos ||
               (container.size() > 5 && container.compare(container.size() - 5, 5, "_pipe") == 0);
  if (v.is_image && !v.frame_count) v.frame_count = 1;

  v.audio.clear();
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* a = ic->streams[i];
    if (a->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) continue;
    AudioStreamInfo ai;
    ai.stream_index = a->index;
    ai.codec = avcodec_get_name(a->codecpar->codec_id);
    ai.sample_rate = a->codecpar->sample_rate;
    ai.channels = a->codecpar->ch_layout.nb_channels;
    if (a->duration != AV_NOPTS_VALUE && a->duration > 0) ai.duration_s = ff_seconds(a->duration, a->time_base);
    v.audio.push_back(ai);
  }

  if (v.duration_s > limits.max_duration_s)
    throw DataError(fmt::format("{}: video lasts {:.1f} s, longer than the limit {:.1f} s (media.max_duration_s)",
                                path, v.duration_s, limits.max_duration_s));
  if (v.frame_count > limits.max_frames)
    throw DataError(fmt::format("{}: video has {} frames, more than the limit {} (media.max_frames)", path,
                                v.frame_count, limits.max_frames));
}

void VideoReader::Impl::note_decode_error(int rc) {
  if (!decode_errors)
    spdlog::warn("{}: the {} decoder skipped corrupt data: {}", path, info.codec, ff_error_text(rc));
  ++decode_errors;
  last_decode_error = ff_error_text(rc);
}

// Next decoded picture into `frame`, feeding packets as the decoder asks; false once the decoder is drained.
bool VideoReader::Impl::read_decoded() {
  for (;;) {
    int rc = avcodec_receive_frame(dec.get(), frame.get());
    if (rc == 0) return true;
    if (rc == AVERROR_EOF) return false;
    if (rc != AVERROR(EAGAIN)) {
      note_decode_error(rc);
      continue;
    }
    if (demux_eof) return false;
    rc = av_read_frame(ic.get(), pkt.get());
    if (rc == AVERROR_EOF || (rc < 0 && ic->pb && avio_feof(ic->pb))) {
      avcodec_send_packet(dec.get(), nullptr);  // drain the frames still inside the decoder
      demux_eof = true;
      continue;
    }
    if (rc < 0)
      throw DataError(fmt::format("{}: read error after frame {}: {}", path, next_index, ff_error_text(rc)));
    if (pkt->stream_index == st->index) {
      ++packets_read;
      rc = avcodec_send_packet(dec.get(), pkt.get());
      if (rc < 0 && rc != AVERROR(EAGAIN)) note_decode_error(rc);
    }
    av_packet_unref(pkt.get());
  }
}

void VideoReader::Impl::convert(Frame& out) {
  const int w = frame->width, h = frame->height, format = frame->format;
  sws.reset(sws_getCachedContext(sws.release(), w, h, static_cast<AVPixelFormat>(format), upright_width,
                                 upright_height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!sws)
    throw DataError(fmt::format("{}: cannot convert {} pictures of {}x{} to RGB", path,
                                av_get_pix_fmt_name(static_cast<AVPixelFormat>(format)), w, h));
  // YUV->RGB coefficients and range follow the stream's tags (BT.601 when untagged, as the ffmpeg CLI does).
  int full_range = frame->color_range == AVCOL_RANGE_JPEG || pix_fmt_is_full_range_yuv(format);
  if (frame->colorspace != sws_colorspace || full_range != sws_full_range) {
    int* inv_table;
    int* table;
    int src_range, dst_range, brightness, contrast, saturation;
    if (sws_getColorspaceDetails(sws.get(), &inv_table, &src_range, &table, &dst_range, &brightness, &contrast,
                                 &saturation) >= 0)
      sws_setColorspaceDetails(sws.get(), sws_getCoefficients(frame->colorspace), full_range, table, dst_range,
                               brightness, contrast, saturation);
    sws_colorspace = frame->colorspace;
    sws_full_range = full_range;
  }
  out.width = info.width;
  out.height = info.height;
  if (!info.rotation) {
    ff_scale_to_packed(sws.get(), frame->data, frame->linesize, h, out.rgb, upright_width * 3, upright_height,
                       scratch);
    return;
  }
  ff_scale_to_packed(sws.get(), frame->data, frame->linesize, h, rotated, upright_width * 3, upright_height,
                     scratch);
  out.rgb.resize(rotated.size());
  rgb_rotate(rotated.data(), upright_width, upright_height, info.rotation, out.rgb.data());
}

void VideoReader::Impl::build_index() {
  if (index_built) return;
  // A separate demuxer, so the scan does not disturb the decoding position. Stream probing matters here: without
  // it the MPEG parsers do not know the stream's reorder delay and guess other timestamps than the decoder sees.
  FfInput scan = ff_open_input(path, limits);
  if (scan->nb_streams != ic->nb_streams || scan->streams[st->index]->codecpar->codec_id != st->codecpar->codec_id)
    throw DataError(fmt::format("{}: streams differ between two openings of the file", path));
  FfPacket p = ff_packet_alloc();
  const int si = st->index;
  int64_t last = AV_NOPTS_VALUE;
  for (;;) {
    int rc = av_read_frame(scan.get(), p.get());
    if (rc < 0) break;  // end, or the point where a damaged file stops: frames past it cannot be reached anyway
    if (p->stream_index == si && !(p->flags & AV_PKT_FLAG_DISCARD)) {
      // A packet without pts (MPEG-PS writes it on some packets only) follows the previous frame by one period.
      int64_t ts = p->pts;
      if (ts == AV_NOPTS_VALUE) {
        ts = last == AV_NOPTS_VALUE ? start_pts : last + frame_period;
        index_missing_pts = true;
      }
      index_pts.push_back(ts);
      last = ts;
    }
    av_packet_unref(p.get());
  }
  std::sort(index_pts.begin(), index_pts.end());
  index_times.resize(index_pts.size());
  for (size_t i = 0; i < index_pts.size(); ++i) index_times[i] = std::max(0.0, seconds_of(index_pts[i]));
  index_built = true;
}

int64_t VideoReader::Impl::index_of(int64_t ts) const {
  auto it = std::lower_bound(index_pts.begin(), index_pts.end(), ts);
  if (it == index_pts.end()) return static_cast<int64_t>(index_pts.size()) - 1;
  if (it != index_pts.begin() && ts - *(it - 1) < *it - ts) --it;
  return it - index_pts.begin();
}

void VideoReader::Impl::seek_to_pts(int64_t ts) {
  // Where some packets carry no timestamp, land a second early so that a stamped frame precedes the target.
  if (index_missing_pts) ts -= av_rescale_q(1, AVRational{1, 1}, st->time_base);
  seek_anchor = AV_NOPTS_VALUE;
  int rc = av_seek_frame(ic.get(), st->index, ts, AVSEEK_FLAG_BACKWARD);
  if (rc < 0) {
    rewind();
    return;
  }
  avcodec_flush_buffers(dec.get());
  av_frame_unref(frame.get());
  demux_eof = false;
  seek_by_count = false;
}

// Reopens the file and decodes from its start: the seek of last resort, exact on any format.
void VideoReader::Impl::rewind() {
  sws.reset();
  sws_colorspace = sws_full_range = -1;
  dec.reset();
  ic.reset();
  open();
  next_index = 0;
  seek_by_count = true;
}

VideoReader::VideoReader(const std::string& path, const MediaLimits& limits, int threads)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->limits = limits;
  impl_->threads = threads;
  impl_->open();
}

VideoReader::~VideoReader() = default;
VideoReader::VideoReader(VideoReader&&) noexcept = default;
VideoReader& VideoReader::operator=(VideoReader&&) noexcept = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
int64_t VideoReader::decode_errors() const { return impl_->decode_errors; }

bool VideoReader::next(Frame& out) {
  Impl& m = *impl_;
  while (m.read_decoded()) {
    int64_t ts = m.frame->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) ts = m.frame->pts;
    if (m.seek_target >= 0) {
      int64_t idx;
      if (m.seek_by_count) {
        idx = m.next_index++;
      } else {
        // Identify frames by the timestamps their packets carried; best-effort guesses go wrong right after a
        // seek in streams that stamp only some packets (MPEG-PS), so those frames count on from the last stamped one.
        if (m.frame->pts != AV_NOPTS_VALUE) {
          m.seek_anchor = m.frame->pts;
          m.seek_anchor_frames = 0;
          ts = m.frame->pts;
        } else if (m.seek_anchor != AV_NOPTS_VALUE) {
          ts = m.seek_anchor + ++m.seek_anchor_frames * m.frame_period;
        } else {
          av_frame_unref(m.frame.get());  // before any stamped frame: position unknown, and before the target
          continue;
        }
        idx = m.index_of(ts);
      }
      if (idx < m.seek_target) {
        av_frame_unref(m.frame.get());
        continue;
      }
      if (idx > m.seek_target) {
        // The demuxer landed past the target (inexact seeking in MPEG-PS/TS, say): back off further, then rewind.
        av_frame_unref(m.frame.get());
        if (++m.seek_attempt > 4) {
          m.rewind();
        } else {
          int64_t back = av_rescale_q(int64_t{1} << m.seek_attempt, AVRational{1, 1}, m.st->time_base);
          m.seek_to_pts(m.index_pts[m.seek_target] - back);
        }
        continue;
      }
      m.next_index = m.seek_target;
      m.seek_target = -1;
    }
    double t = ts != AV_NOPTS_VALUE ? m.seconds_of(ts) : m.last_time + 1.0 / m.info.fps;
    m.convert(out);
    out.pts = std::max(0.0, t);
    out.index = m.next_index++;
    m.last_time = t;
    av_frame_unref(m.frame.get());
    return true;
  }
  if (m.seek_target >= 0 && !m.seek_by_count) {
    // Decoded timestamps never reached the target (they disagree with the packet scan): count from the start.
    m.rewind();
    return next(out);
  }
  if (m.from_start) {
    if (m.st->nb_frames > 0 && m.packets_read < m.st->nb_frames)
      throw DataError(fmt::format("{}: truncated: the container declares {} frames but the file ends after {}",
                                  m.path, m.st->nb_frames, m.packets_read));
    if (m.next_index == 0)
      throw DataError(fmt::format("{}: no video frame could be decoded{}", m.path,
                                  m.decode_errors ? " (" + m.last_decode_error + ")" : std::string()));
  }
  return false;
}

void VideoReader::seek_frame(int64_t index) {
  Impl& m = *impl_;
  m.build_index();
  const int64_t n = static_cast<int64_t>(m.index_pts.size());
  if (index < 0 || index >= n)
    throw UsageError(fmt::format("{}: cannot seek to frame {}: the video has frames 0..{}", m.path, index, n - 1));
  m.from_start = false;
  m.seek_target = index;
  m.seek_attempt = 0;
  m.seek_to_pts(m.index_pts[index]);
}

void VideoReader::seek_time(double seconds) {
  Impl& m = *impl_;
  m.build_index();
  auto it = std::lower_bound(m.index_times.begin(), m.index_times.end(), seconds - 1e-6);
  if (it == m.index_times.end())
    throw UsageError(fmt::format("{}: cannot seek to {:.3f} s: the last frame is shown at {:.3f} s", m.path,
                                 seconds, m.index_times.empty() ? 0.0 : m.index_times.back()));
  seek_frame(it - m.index_times.begin());
}

int64_t VideoReader::count_frames() {
  impl_->build_index();
  return static_cast<int64_t>(impl_->index_pts.size());
}

const std::vector<double>& VideoReader::frame_times() {
  impl_->build_index();
  return impl_->index_times;
}

}  // namespace s3e
