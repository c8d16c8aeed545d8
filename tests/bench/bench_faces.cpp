// bench_faces — face nets per face: the LibTorch port vs the face-api reference (tfjs WASM backend, one thread,
// Node.js) on the same pixels and the same crops (face-api sample photo 1: 1920x1280, 3 faces), side by side in
// one run. Measures TinyFaceDetector@512 on the whole photo, and FaceLandmark68Net / FaceRecognitionNet per face
// at batch 1 ("latency") and at batch B ("throughput", per face), including preprocessing (crop, pad, resize).
// C++ runs at 1 and 2 intra-op threads; every number is the median of R repetitions after one warm-up. The two
// sides alternate (C++, reference, C++, reference, ... K rounds) so that load from other processes hits both alike;
// the table gives the median over the rounds, and the ratio is the median of the per-round ratios. Also prints the
// CPU model and vector instruction sets, the detector's stages (JPEG decode, pad + resize + normalise, net, box
// decoding + NMS) and the kernels chosen per net (face_models.cpp measures the candidates once per process).
// Usage: bench_faces [--repeats R] [--batch B] [--rounds K] [--no-node] [--tmp DIR]   (defaults 9, 8, 3, $TMPDIR)
// DIR (where the Node.js reference's input and output files go) must exist and be writable; a failed file write, a
// failed reference run or a missing result is an error naming the file and the reason, exit 1, never a number.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "face/face_cpu.h"
#include "face/face_models.h"
#include "media/image_io.h"

#include "bench/bench_util.h"
using namespace s3e;
namespace fs = std::filesystem;
using s3e::bench::BenchError;
using s3e::bench::Clock;
using nlohmann::json;

namespace {

template <class Fn>
double median_ms(int repeats, Fn fn) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<FaceRect> repeat_to(const std::vector<FaceRect>& rects, int n) {
  std::vector<FaceRect> out;
  for (int i = 0; i < n; ++i) out.push_back(rects[size_t(i) % rects.size()]);
  return out;
}

void write_file(const fs::path& path, const char* data, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw BenchError("open " + path.string() + ": " + bench::errno_text(errno));
  out.write(data, static_cast<std::streamsize>(bytes));
  out.close();
  if (!out) throw BenchError("write " + path.string() + ": " + bench::errno_text(errno));
}

// A number the reference must have produced (a missing one is an error, not a 0 in the table).
double result_ms(const json& bench, const char* key, const fs::path& file) {
  if (!bench.contains(key) || !bench[key].is_number())
    throw BenchError(file.string() + ": no number \"" + std::string(key) + "\" in the reference's bench results");
  return bench[key].get<double>();
}

int run(int argc, char** argv) {
  int repeats = 9, batch = 8, rounds = 3;
  bool node = true;
  fs::path tmp = fs::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--tmp") && i + 1 < argc) tmp = argv[++i];
    else if (!std::strcmp(argv[i], "--no-node")) node = false;
    else {
      std::fprintf(stderr, "usage: bench_faces [--repeats R] [--batch B] [--rounds K] [--no-node] [--tmp DIR]\n");
      return 2;
    }
  }
  if (repeats < 1 || batch < 1 || rounds < 1) {
    std::fprintf(stderr, "bench_faces: --repeats, --batch and --rounds must be >= 1\n");
    return 2;
  }
  // Before loading the nets: a bad scratch folder must not cost a minute of C++ timings first.
  if (node) bench::require_writable_dir(tmp, "--tmp");
  fs::path photo = face_cache_dir() / "node/node_modules/@vladmandic/face-api/demo/sample1.jpg";
  Frame frame = image_read_rgb(photo.string());
  ImageView image = frame.view();
  FaceModelsOptions options;
  options.load_attributes = false;
  FaceModels models(options);
  auto faces = models.analyze(image);
  if (faces.empty()) throw BenchError(photo.string() + ": no face detected (expected 3); nothing to time");
  std::vector<FaceRect> lm_crops, desc_crops;
  for (auto& f : faces) lm_crops.push_back(f.landmark_crop), desc_crops.push_back(f.descriptor_crop);
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("bench_faces: %s (%dx%d, %zu faces), repeats %d, batch %d, TinyFaceDetector input 512, eager "
              "LibTorch, OMP_WAIT_POLICY=%s, load average at start %.2f\n",
              photo.filename().c_str(), frame.width, frame.height, faces.size(), repeats, batch,
              wait_policy ? wait_policy : "(unset)", load[0]);
  std::printf("CPU: %s; vector instructions: %s; %d rounds C++ / reference interleaved\n", face_cpu_model().c_str(),
              face_cpu_features().c_str(), rounds);

  const char* rows[] = {"detector@512 (whole photo)", "landmarks, batch 1", "landmarks, batch B (per face)",
                        "descriptor, batch 1", "descriptor, batch B (per face)"};
  auto lm_b = repeat_to(lm_crops, batch), desc_b = repeat_to(desc_crops, batch);
  // Detector stages at 1 thread (mean per call over the repeats; the JPEG decode is the bench's own input path).
  double stages[4] = {0, 0, 0, 0};
  auto measure_cpp = [&](double cpp[2][5]) {
    for (int ti = 0; ti < 2; ++ti) {
      face_set_threads(ti + 1);
      FaceModels::Seconds before = models.seconds();
      cpp[ti][0] = median_ms(repeats, [&] { models.detect(image); });
      FaceModels::Seconds after = models.seconds();
      if (ti == 0) {
        const double n = repeats + 1;  // median_ms runs one warm-up too
        stages[1] += (after.detect_preprocess - before.detect_preprocess) * 1e3 / n / rounds;
        stages[2] += (after.detect_forward - before.detect_forward) * 1e3 / n / rounds;
        stages[3] += (after.detect_decode - before.detect_decode) * 1e3 / n / rounds;
      }
      cpp[ti][1] = median_ms(repeats, [&] { models.landmarks(image, {lm_crops[0]}); });
      cpp[ti][2] = median_ms(repeats, [&] { models.landmarks(image, lm_b); }) / batch;
      cpp[ti][3] = median_ms(repeats, [&] { models.descriptors(image, {desc_crops[0]}); });
      cpp[ti][4] = median_ms(repeats, [&] { models.descriptors(image, desc_b); }) / batch;
    }
  };
  stages[0] = median_ms(repeats, [&] { image_read_rgb(photo.string()); });
  // The reference's scratch folder and input, written once; it runs once per round.
  fs::path dir = tmp / ("bench_faces." + std::to_string(::getpid()));
  struct Cleanup {
    fs::path dir;
    bool armed = false;
    ~Cleanup() {
      std::error_code e;
      if (armed) fs::remove_all(dir, e);
    }
  } cleanup{dir};
  std::string cmd;
  if (node) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw BenchError("create folder " + dir.string() + ": " + ec.message());
    cleanup.armed = true;
    write_file(dir / "sample1.rgb", reinterpret_cast<const char*>(frame.rgb.data()), frame.rgb.size());
    json in = {{"input_size", 512}, {"score_threshold", 0.5},
               {"images", {{{"name", "sample1"}, {"rgb", (dir / "sample1.rgb").string()}, {"width", frame.width},
                            {"height", frame.height}}}},
               {"bench", {{"repeats", repeats}, {"batch", batch}}}};
    const std::string in_text = in.dump();
    write_file(dir / "in.json", in_text.data(), in_text.size());
    std::string script = std::string(S3E_SOURCE_DIR) + "/tests/reference/faceapi_reference.js";
    cmd = "node '" + script + "' '" + (dir / "in.json").string() + "' '" + (dir / "out.json").string() + "'";
  }
  auto measure_node = [&](double wasm[5]) {
    if (int status = std::system(cmd.c_str()); status != 0)
      throw BenchError("the Node.js reference failed (status " + std::to_string(status) + "): " + cmd);
    const fs::path out_path = dir / "out.json";
    std::ifstream out_file(out_path);
    if (!out_file) throw BenchError("open " + out_path.string() + ": " + bench::errno_text(errno));
    json out = json::parse(out_file, nullptr, false);
    if (out.is_discarded() || !out.contains("images") || out["images"].empty() || !out["images"][0].contains("bench"))
      throw BenchError(out_path.string() + ": not the reference's JSON with images[0].bench");
    const json& b = out["images"][0]["bench"];
    wasm[0] = result_ms(b, "detector_ms", out_path), wasm[1] = result_ms(b, "landmarks_single_ms", out_path);
    wasm[2] = result_ms(b, "landmarks_batch_ms", out_path) / batch;
    wasm[3] = result_ms(b, "descriptor_single_ms", out_path);
    wasm[4] = result_ms(b, "descriptor_batch_ms", out_path) / batch;
  };
  // A B A B: per round the C++ numbers, then the reference's.
  std::vector<std::array<double, 5>> cpp_r[2], wasm_r;
  for (int k = 0; k < rounds; ++k) {
    double c[2][5], w[5];
    measure_cpp(c);
    cpp_r[0].push_back({c[0][0], c[0][1], c[0][2], c[0][3], c[0][4]});
    cpp_r[1].push_back({c[1][0], c[1][1], c[1][2], c[1][3], c[1][4]});
    if (node) {
      measure_node(w);
      wasm_r.push_back({w[0], w[1], w[2], w[3], w[4]});
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  double cpp[2][5], wasm[5] = {0, 0, 0, 0, 0}, ratio[2][5] = {};
  for (int r = 0; r < 5; ++r) {
    for (int ti = 0; ti < 2; ++ti) {
      std::vector<double> v, q;
      for (int k = 0; k < rounds; ++k) {
        v.push_back(cpp_r[ti][size_t(k)][size_t(r)]);
        if (node) q.push_back(wasm_r[size_t(k)][size_t(r)] / cpp_r[ti][size_t(k)][size_t(r)]);
      }
      cpp[ti][r] = median(v);
      if (node) ratio[ti][r] = median(q);
    }
    if (node) {
      std::vector<double> v;
      for (int k = 0; k < rounds; ++k) v.push_back(wasm_r[size_t(k)][size_t(r)]);
      wasm[r] = median(v);
    }
  }
  std::printf("%-32s %12s %12s %14s %10s %10s\n", "median ms", "C++ 1 thr", "C++ 2 thr", "WASM 1 thr", "WASM/C++1",
              "WASM/C++2");
  for (int r = 0; r < 5; ++r) {
    if (node)
      std::printf("%-32s %12.2f %12.2f %14.2f %10.2f %10.2f\n", rows[r], cpp[0][r], cpp[1][r], wasm[r],
                  ratio[0][r], ratio[1][r]);
    else  // --no-node: no reference was measured, so no number is printed for it
      std::printf("%-32s %12.2f %12.2f %14s %10s %10s\n", rows[r], cpp[0][r], cpp[1][r], "-", "-", "-");
  }
  std::printf("detector@512 stages, C++ 1 thr, ms: JPEG decode %.2f (not in the row above), pad + resize + normalise "
              "%.2f, net %.2f, box decoding + NMS %.2f\n",
              stages[0], stages[1], stages[2], stages[3]);
  std::printf("kernels chosen (%s):\n%s\n", "per net, input, batch, threads set", models.layout_report().c_str());
  ::getloadavg(load, 3);
  std::printf("load average at end %.2f (2-core VM: other processes slow both sides; compare the ratios)\n", load[0]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench_faces: error: %s\n", e.what());
    return 1;
  }
}
