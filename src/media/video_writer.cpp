#include "media/video_writer.h"

extern "C" {
#include <libavutil/opt.h>
}

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/file_util.h"
#include "media/audio_transfer.h"
#include "media/ff_util.h"
#include "media/video_reader.h"

namespace fs = std::filesystem;

namespace s3e {

namespace {

// One codec choice of VideoWriterOptions::codec. Keep docs/media.md's codec table in step.
struct CodecSpec {
  const char* name;        // the option's value
  const char* encoder;     // FFmpeg encoder
  AVPixelFormat pix_fmt;   // what the encoder gets
  int crf_max;             // crf range 0..crf_max; -1: crf and preset are ignored (lossless)
  const char* containers;  // muxers (FFmpeg names) that can hold it, tried in this order for the error message
};
constexpr CodecSpec k_codecs[] = {
    {"h264", "libx264", AV_PIX_FMT_YUV420P, 51, "mp4 matroska mov"},
    {"h265", "libx265", AV_PIX_FMT_YUV420P, 51, "mp4 matroska mov"},
    {"vp9", "libvpx-vp9", AV_PIX_FMT_YUV420P, 63, "mp4 matroska webm"},
    // RGB as it is (no colour conversion), so decoding gives the bytes back exactly. FFV1 takes 8-bit RGB only
    // packed as 0RGB32 (FFmpeg 5.1 lists gbrp9 and up, not gbrp; the CLI converts silently, we would fail).
    {"ffv1", "ffv1", AV_PIX_FMT_0RGB32, -1, "matroska"},
};
// Muxer name -> the extension users write. Only these four: their timing, audio and determinism are tested.
constexpr std::pair<const char*, const char*> k_container_exts[] = {
    {"mp4", ".mp4"}, {"matroska", ".mkv"}, {"mov", ".mov"}, {"webm", ".webm"}};
// x264's and x265's preset names, fastest first; vp9 maps them onto libvpx's deadline and cpu-used (below).
constexpr const char* k_presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                     "medium",    "slow",      "slower",   "veryslow", "placebo"};
// libvpx-vp9 for each preset above: realtime cpu-used 8..6, good 5..0, best 0. (Good quality mode treats cpu-used
// above 5 as 5, so the three fastest switch to the realtime mode, which is faster and coarser.)
constexpr std::pair<const char*, int> k_vp9_speeds[] = {{"realtime", 8}, {"realtime", 7}, {"realtime", 6},
                                                        {"good", 5},     {"good", 4},     {"good", 3},
                                                        {"good", 2},     {"good", 1},     {"good", 0},
                                                        {"best", 0}};
static_assert(std::size(k_presets) == std::size(k_vp9_speeds));

const CodecSpec* codec_find(const std::string& name) {
  for (const CodecSpec& c : k_codecs)
    if (name == c.name) return &c;
  return nullptr;
}

bool codec_fits(const CodecSpec& codec, const AVOutputFormat* ofmt) {
  if (!ofmt) return false;
  std::istringstream muxers(codec.containers);
  for (std::string m; muxers >> m;)
    if (m == ofmt->name) return true;
  return false;
}

// ".mp4, .mkv or .mov": the extensions whose containers can hold `codec`.
std::string codec_extensions(const CodecSpec& codec) {
  std::vector<std::string> exts;
  std::istringstream muxers(codec.containers);
  for (std::string m; muxers >> m;)
    for (auto& [muxer, ext] : k_container_exts)
      if (m == muxer) exts.push_back(ext);
  std::string out;
  for (size_t i = 0; i < exts.size(); ++i)
    out += (i == 0 ? "" : i + 1 == exts.size() ? " or " : ", ") + exts[i];
  return out;
}

std::string names_joined(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// Packed RGB24 into a 0RGB32 frame (one native-endian 32-bit word per pixel, 0xXXRRGGBB: bgr0 in memory on
// little-endian machines), byte for byte: a plain copy, so that lossless output does not depend on which of
// swscale's paths a conversion would take.
void rgb_to_0rgb32(const Frame& frame, AVFrame* out) {
  for (int y = 0; y < frame.height; ++y) {
    const uint8_t* s = frame.rgb.data() + static_cast<size_t>(y) * frame.width * 3;
    uint8_t* row = out->data[0] + static_cast<ptrdiff_t>(y) * out->linesize[0];
    for (int x = 0; x < frame.width; ++x, s += 3) {
      const uint32_t word = uint32_t{s[0]} << 16 | uint32_t{s[1]} << 8 | s[2];
      std::memcpy(row + 4 * x, &word, 4);
    }
  }
}

int preset_index(const std::string& preset) {
  for (size_t i = 0; i < std::size(k_presets); ++i)
    if (preset == k_presets[i]) return static_cast<int>(i);
  return -1;
}

}  // namespace

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
  const CodecSpec* codec = nullptr;
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
  const bool subsampled = codec->pix_fmt == AV_PIX_FMT_YUV420P;
  const int enc_w = subsampled ? w & ~1 : w, enc_h = subsampled ? h & ~1 : h;
  if (enc_w < 2 || enc_h < 2) throw UsageError(fmt::format("{}: cannot encode {}x{} frames", path, w, h));
  const AVCodec* av_codec = avcodec_find_encoder_by_name(codec->encoder);
  if (!av_codec && codec == &k_codecs[0]) av_codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!av_codec) throw UsageError(fmt::format("{}: this FFmpeg has no {} encoder (codec {})", path, codec->encoder,
                                              codec->name));
  enc.reset(avcodec_alloc_context3(av_codec));
  if (!enc) throw std::bad_alloc();
  enc->width = enc_w;
  enc->height = enc_h;
  enc->pix_fmt = codec->pix_fmt;
  enc->time_base = tb;
  enc->framerate = fps;
  enc->thread_count = opt.threads;
  if (subsampled) {
    // sws converts with BT.601 limited-range coefficients: tag the stream so that players invert the same matrix.
    enc->colorspace = AVCOL_SPC_SMPTE170M;
    enc->color_range = AVCOL_RANGE_MPEG;
  } else {
    enc->colorspace = AVCOL_SPC_RGB;
    enc->color_range = AVCOL_RANGE_JPEG;
  }
  if (ofmt->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  const std::string name = codec->name;
  if (name == "h264" || name == "h265") {
    av_dict_set(&opts, "preset", opt.preset.c_str(), 0);
    av_dict_set(&opts, "crf", std::to_string(opt.crf).c_str(), 0);
  }
  if (name == "h265") {
    // x265 logs to stderr by itself; its settings SEI (info) names the CPU's features, so files would differ between
    // machines. pools: x265 otherwise starts a worker per core whatever `threads` says (the libx265 wrapper ignores
    // thread_count) and derives its frame threads from that core count; pinned, nothing depends on the machine.
    std::string params = "log-level=error:info=0";
    if (opt.threads > 0) params += fmt::format(":pools={}", opt.threads);
    av_dict_set(&opts, "x265-params", params.c_str(), 0);
  } else if (name == "vp9") {
    // Constant quality: crf with no bitrate target. row-mt off: one deterministic row order whatever the threads.
    const auto& [deadline, cpu_used] = k_vp9_speeds[preset_index(opt.preset)];
    av_dict_set(&opts, "crf", std::to_string(opt.crf).c_str(), 0);
    av_dict_set(&opts, "b", "0", 0);
    av_dict_set(&opts, "deadline", deadline, 0);
    av_dict_set(&opts, "cpu-used", std::to_string(cpu_used).c_str(), 0);
    av_dict_set(&opts, "row-mt", "0", 0);
  } else if (name == "ffv1") {
    // Version 3 (per-slice CRCs) and every frame a keyframe: any frame decodes on its own, so seeks stay cheap.
    av_dict_set(&opts, "level", "3", 0);
    enc->gop_size = 1;
  }
  int rc = avcodec_open2(enc.get(), av_codec, &opts);
  av_dict_free(&opts);
  if (rc < 0)
    throw UsageError(fmt::format("{}: cannot open the {} encoder (preset '{}', crf {}): {}", path, av_codec->name,
                                 opt.preset, opt.crf, ff_error_text(rc)));
  vst = avformat_new_stream(oc, nullptr);
  if (!vst) throw std::bad_alloc();
  vst->time_base = tb;
  vst->avg_frame_rate = fps;
  rc = avcodec_parameters_from_context(vst->codecpar, enc.get());
  if (rc < 0) throw UsageError(fmt::format("{}: {}", path, ff_error_text(rc)));
  // MP4/MOV tag HEVC as hev1 by default; Apple's players (and browsers on macOS/iOS) accept only hvc1.
  if (name == "h265" && (std::string(ofmt->name) == "mp4" || std::string(ofmt->name) == "mov"))
    vst->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');

  if (!opt.audio_source.empty()) {
    audio = std::make_unique<AudioTransfer>(opt.audio_source, oc, opt.limits);
    if (!audio->active()) audio.reset();
    // AudioTransfer re-encodes to AAC only, which WebM cannot hold (the header would fail with FFmpeg's less
    // helpful reason).
    if (audio && !audio->copying() && std::string(ofmt->name) == "webm")
      throw UsageError(fmt::format("{}: WebM holds only Opus or Vorbis audio, and the audio of {} would be re-encoded "
                                   "to AAC; use .mkv or .mp4 to carry it",
                                   path, opt.audio_source));
  }
  rc = avio_open2(&oc->pb, temp.c_str(), AVIO_FLAG_WRITE, nullptr, nullptr);
  if (rc < 0) throw UsageError(fmt::format("{}: cannot be written: {}", temp.string(), ff_error_text(rc)));
  rc = avformat_write_header(oc, nullptr);
  if (rc < 0) throw UsageError(fmt::format("{}: cannot write the {} header: {}", path, ofmt->name, ff_error_text(rc)));
  header_written = true;

  if (subsampled) {
    sws.reset(sws_getContext(enc_w, enc_h, AV_PIX_FMT_RGB24, enc_w, enc_h, AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr,
                             nullptr, nullptr));
    if (!sws) throw UsageError(fmt::format("{}: cannot convert RGB to YUV 4:2:0", path));
  }
  pending->width = enc_w;
  pending->height = enc_h;
  pending->format = codec->pix_fmt;
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
  m.codec = codec_find(options.codec);
  if (!m.codec) {
    std::vector<std::string> names;
    for (const CodecSpec& c : k_codecs) names.push_back(c.name);
    throw UsageError(fmt::format("{}: unknown codec '{}'; choose one of {}", path, options.codec, names_joined(names)));
  }
  if (m.codec->crf_max >= 0) {
    if (options.crf < 0 || options.crf > m.codec->crf_max)
      throw UsageError(fmt::format("{}: crf {} is outside 0..{} ({})", path, options.crf, m.codec->crf_max,
                                   options.codec));
    if (preset_index(options.preset) < 0)
      throw UsageError(fmt::format("{}: preset '{}' is not one of {}", path, options.preset,
                                   names_joined({std::begin(k_presets), std::end(k_presets)})));
  }
  if (options.threads < 0) throw UsageError(fmt::format("{}: encoder threads {} < 0", path, options.threads));
  m.fps = {options.fps_num, options.fps_den};
  m.tb = options.time_base_num > 0 && options.time_base_den > 0
             ? AVRational{options.time_base_num, options.time_base_den}
             : av_inv_q(m.fps);
  fs::path final_path(path);
  std::error_code ec;
  if (fs::is_directory(final_path, ec)) throw UsageError(fmt::format("{}: is a folder, not a video file name", path));
  // The container: named by options.container, or by the file's extension (a temporary name of the caller's,
  // such as the item ledger's ".x.mp4.tmp.123", needs the former).
  const std::string by_name = options.container.empty() ? path : "x." + options.container;
  m.ofmt = av_guess_format(nullptr, by_name.c_str(), nullptr);
  if (!codec_fits(*m.codec, m.ofmt)) {
    bool known = false;
    for (auto& [muxer, ext] : k_container_exts) known = known || (m.ofmt && std::string(m.ofmt->name) == muxer);
    if (known)
      throw UsageError(fmt::format("{}: a {} file cannot hold {} video; for {} use {}", path,
                                   fs::path(by_name).extension().string(), options.codec, options.codec,
                                   codec_extensions(*m.codec)));
    throw UsageError(fmt::format("{}: the file extension names no container for {} video; use {}", path,
                                 options.codec, codec_extensions(*m.codec)));
  }
  file_ensure_writable_dir(final_path.parent_path().empty() ? fs::path(".") : final_path.parent_path());
  m.temp = file_temp_path(final_path);
  int rc = avformat_alloc_output_context2(&m.oc, m.ofmt, nullptr, m.temp.c_str());
  if (rc < 0) throw UsageError(fmt::format("{}: {}", path, ff_error_text(rc)));
  // Matroska and WebM draw random segment and track UIDs unless bit-exact; MP4/MOV are deterministic already (and
  // stay as they were: bit-exact would drop their encoder tag).
  const std::string muxer = m.ofmt->name;
  if (muxer == "matroska" || muxer == "webm") m.oc->flags |= AVFMT_FLAG_BITEXACT;
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
  if (m.sws) {
    // Only the even part is encoded: the source rectangle keeps the full row stride (crops an odd last column).
    int src_stride[4] = {ff_pad_packed(frame.rgb.data(), frame.width * 3, m.enc->height, m.padded), 0, 0, 0};
    const uint8_t* src[4] = {m.padded.data(), nullptr, nullptr, nullptr};
    sws_scale(m.sws.get(), src, src_stride, 0, m.enc->height, m.pending->data, m.pending->linesize);
  } else {
    rgb_to_0rgb32(frame, m.pending.get());
  }
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
