#include "media/ff_util.h"

extern "C" {
#include <libavutil/avstring.h>
}

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <cctype>
#include <set>
#include <vector>

#include "core/errors.h"

namespace s3e {

namespace {

// Demuxers that read other files or URLs named inside the input (playlists, manifests, session descriptions).
// With the `file`-only protocol whitelist they could still reach other local files, so they are refused.
const std::set<std::string> k_referencing_demuxers = {"hls", "dash", "concat", "imf", "sdp", "rtp", "rtsp",
                                                       "sap", "webm_dash_manifest", "lavfi"};

// The comma list of every demuxer except the referencing ones, for AVFormatContext::format_whitelist.
const std::string& safe_format_whitelist() {
  static const std::string list = [] {
    std::string out;
    void* it = nullptr;
    while (const AVInputFormat* f = av_demuxer_iterate(&it)) {
      std::string names = f->name;  // may itself be a comma list ("mov,mp4,m4a,3gp,3g2,mj2")
      bool referencing = false;
      size_t start = 0;
      while (start <= names.size()) {
        size_t end = names.find(',', start);
        if (end == std::string::npos) end = names.size();
        if (k_referencing_demuxers.count(names.substr(start, end - start))) referencing = true;
        start = end + 1;
      }
      if (referencing) continue;
      if (!out.empty()) out += ',';
      out += names;
    }
    return out;
  }();
  return list;
}

bool format_is_referencing(const AVInputFormat* f) {
  std::string names = f->name;
  for (auto& n : k_referencing_demuxers)
    if (av_match_name(n.c_str(), names.c_str())) return true;
  return false;
}

// "file:" + path, so that a name containing ':' is never taken for another protocol.
std::string file_url(const std::string& path) { return "file:" + path; }

bool looks_like_url(const std::string& path) {
  size_t p = path.find("://");
  if (p == std::string::npos || p == 0) return false;
  for (size_t i = 0; i < p; ++i)
    if (!std::isalnum(static_cast<unsigned char>(path[i])) && path[i] != '+' && path[i] != '-' && path[i] != '.')
      return false;
  return true;
}

void check_dimensions(const AVCodecParameters* par, const MediaLimits& limits, const std::string& path) {
  if (par->width > limits.max_width || par->height > limits.max_height)
    throw DataError(fmt::format("{}: video is {}x{}, larger than the limit {}x{} (media.max_width/max_height)",
                                path, par->width, par->height, limits.max_width, limits.max_height));
}

AVDictionary* input_options() {
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  return opts;
}

}  // namespace

FfFrame ff_frame_alloc() {
  FfFrame f(av_frame_alloc());
  if (!f) throw std::bad_alloc();
  return f;
}

FfPacket ff_packet_alloc() {
  FfPacket p(av_packet_alloc());
  if (!p) throw std::bad_alloc();
  return p;
}

std::string ff_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

namespace {
// FFmpeg's messages go to the rank's log at debug level: the exceptions and warnings of this module already say
// what matters, and raw FFmpeg lines on stderr would lack the rank prefix.
void ff_log_callback(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_WARNING || !spdlog::should_log(spdlog::level::debug)) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(avcl, level, format, args, line, sizeof line, &print_prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) spdlog::debug("ffmpeg: {}", text);
}
}  // namespace

void ff_log_init() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(ff_log_callback); });
}

namespace {
constexpr int k_row_align = 64;
constexpr size_t k_tail_padding = 256;
int row_stride_padded(int row_bytes) { return (row_bytes + k_row_align - 1) / k_row_align * k_row_align; }
}  // namespace

void ff_scale_to_packed(SwsContext* sws, const uint8_t* const src[], const int src_stride[], int src_h,
                        std::vector<uint8_t>& dst, int row_bytes, int dst_h, std::vector<uint8_t>& scratch) {
  const size_t bytes = static_cast<size_t>(row_bytes) * dst_h;
  if (row_bytes % k_row_align == 0) {
    // Aligned rows: write in place; the padding stays in the vector's capacity after shrinking back.
    dst.resize(bytes + k_tail_padding);
    uint8_t* planes[4] = {dst.data(), nullptr, nullptr, nullptr};
    int strides[4] = {row_bytes, 0, 0, 0};
    sws_scale(sws, src, src_stride, 0, src_h, planes, strides);
    dst.resize(bytes);
    return;
  }
  const int stride = row_stride_padded(row_bytes);
  scratch.resize(static_cast<size_t>(stride) * dst_h + k_tail_padding);
  uint8_t* planes[4] = {scratch.data(), nullptr, nullptr, nullptr};
  int strides[4] = {stride, 0, 0, 0};
  sws_scale(sws, src, src_stride, 0, src_h, planes, strides);
  dst.resize(bytes);
  for (int y = 0; y < dst_h; ++y)
    std::memcpy(dst.data() + static_cast<size_t>(y) * row_bytes, scratch.data() + static_cast<size_t>(y) * stride,
                row_bytes);
}

int ff_pad_packed(const uint8_t* src, int row_bytes, int rows, std::vector<uint8_t>& padded) {
  const int stride = row_stride_padded(row_bytes);
  padded.resize(static_cast<size_t>(stride) * rows + k_tail_padding);
  for (int y = 0; y < rows; ++y)
    std::memcpy(padded.data() + static_cast<size_t>(y) * stride, src + static_cast<size_t>(y) * row_bytes, row_bytes);
  return stride;
}

double ff_seconds(int64_t ts, AVRational tb) {
  if (ts == AV_NOPTS_VALUE) return std::nan("");
  return static_cast<double>(ts) * tb.num / tb.den;
}

FfInput ff_open_input(const std::string& path, const MediaLimits& limits) {
  ff_log_init();
  if (looks_like_url(path))
    throw DataError(fmt::format("{}: is a URL; s3editor reads local files only", path));
  const bool pattern = av_filename_number_test(path.c_str()) != 0;  // "frame_%05d.png"
  const AVInputFormat* format = nullptr;
  int probe_score = AVPROBE_SCORE_MAX;
  if (pattern) {
    format = av_find_input_format("image2");
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw DataError(fmt::format("{}: cannot be opened: no such file", path));
    if (std::filesystem::is_directory(path, ec))
      throw DataError(fmt::format("{}: is a folder, not a video or image file", path));
    auto size = std::filesystem::file_size(path, ec);
    if (!ec && size == 0) throw DataError(fmt::format("{}: is empty (0 bytes)", path));
    // Probe the format ourselves first, so that a playlist is refused by name before its demuxer runs.
    AVIOContext* pb = nullptr;
    AVDictionary* opts = input_options();
    int rc = avio_open2(&pb, file_url(path).c_str(), AVIO_FLAG_READ, nullptr, &opts);
    av_dict_free(&opts);
    if (rc < 0) throw DataError(fmt::format("{}: cannot be opened: {}", path, ff_error_text(rc)));
    rc = av_probe_input_buffer2(pb, &format, file_url(path).c_str(), nullptr, 0, 0);
    avio_closep(&pb);
    if (rc < 0 || !format)
      throw DataError(fmt::format("{}: not a video or image file FFmpeg recognises: {}", path, ff_error_text(rc)));
    probe_score = rc;
    if (format_is_referencing(format))
      throw DataError(fmt::format("{}: is a playlist or manifest ({}: {}) that refers to other files or URLs; "
                                  "s3editor reads local media files only",
                                  path, format->name, format->long_name ? format->long_name : format->name));
  }

  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) throw std::bad_alloc();
  raw->format_whitelist = av_strdup(safe_format_whitelist().c_str());
  AVDictionary* opts = input_options();
  int rc = avformat_open_input(&raw, file_url(path).c_str(), format, &opts);  // frees raw on failure
  av_dict_free(&opts);
  if (rc < 0 && probe_score < AVPROBE_SCORE_RETRY)
    throw DataError(fmt::format("{}: not a video or image file FFmpeg recognises (its content matches no format; "
                                "read as {} by its name: {})",
                                path, format->name, ff_error_text(rc)));
  if (rc < 0) throw DataError(fmt::format("{}: cannot be read as media ({}): {}", path, format ? format->name : "image2",
                                          ff_error_text(rc)));
  FfInput ic(raw);

  for (unsigned i = 0; i < ic->nb_streams; ++i)
    if (ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
      check_dimensions(ic->streams[i]->codecpar, limits, path);
  // Stream probing decodes a few frames: give each decoder the pixel limit so it refuses absurd sizes itself.
  std::vector<AVDictionary*> stream_opts(ic->nb_streams, nullptr);
  std::string max_pixels = std::to_string(static_cast<int64_t>(limits.max_width) * limits.max_height);
  for (auto& d : stream_opts) av_dict_set(&d, "max_pixels", max_pixels.c_str(), 0);
  rc = avformat_find_stream_info(ic.get(), stream_opts.empty() ? nullptr : stream_opts.data());
  for (auto& d : stream_opts) av_dict_free(&d);
  if (rc < 0) throw DataError(fmt::format("{}: stream parameters cannot be read: {}", path, ff_error_text(rc)));
  for (unsigned i = 0; i < ic->nb_streams; ++i)
    if (ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
      check_dimensions(ic->streams[i]->codecpar, limits, path);
  return ic;
}

FfCodec ff_open_decoder(const AVStream* st, const MediaLimits& limits, int threads, const std::string& path) {
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec)
    throw DataError(fmt::format("{}: stream {} uses codec '{}', which this FFmpeg cannot decode", path, st->index,
                                avcodec_get_name(st->codecpar->codec_id)));
  FfCodec dec(avcodec_alloc_context3(codec));
  if (!dec) throw std::bad_alloc();
  int rc = avcodec_parameters_to_context(dec.get(), st->codecpar);
  if (rc < 0) throw DataError(fmt::format("{}: stream {}: {}", path, st->index, ff_error_text(rc)));
  dec->pkt_timebase = st->time_base;
  dec->max_pixels = static_cast<int64_t>(limits.max_width) * limits.max_height;
  dec->thread_count = threads;
  AVDictionary* opts = nullptr;
  rc = avcodec_open2(dec.get(), codec, &opts);
  av_dict_free(&opts);
  if (rc < 0)
    throw DataError(fmt::format("{}: cannot open the {} decoder: {}", path, codec->name, ff_error_text(rc)));
  return dec;
}

}  // namespace s3e
