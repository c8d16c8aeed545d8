// bench_faces — face nets per face: the LibTorch port vs the face-api reference (tfjs WASM backend, one thread,
// Node.js) on the same pixels and the same crops (face-api sample photo 1: 1920x1280, 3 faces), side by side in
// one run. Measures TinyFaceDetector@512 on the whole photo, and FaceLandmark68Net / FaceRecognitionNet per face
// at batch 1 ("latency") and at batch B ("throughput", per face), including preprocessing (crop, pad, resize).
// C++ runs at 1 and 2 intra-op threads; every number is the median of R repetitions after one warm-up.
// Usage: bench_faces [--repeats R] [--batch B] [--no-node] [--tmp DIR]   (defaults 9, 8, $TMPDIR or /tmp)
// DIR (where the Node.js reference's input and output files go) must exist and be writable; a failed file write, a
// failed reference run or a missing result is an error naming the file and the reason, exit 1, never a number.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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
  int repeats = 9, batch = 8;
  bool node = true;
  fs::path tmp = fs::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--tmp") && i + 1 < argc) tmp = argv[++i];
    else if (!std::strcmp(argv[i], "--no-node")) node = false;
    else {
      std::fprintf(stderr, "usage: bench_faces [--repeats R] [--batch B] [--no-node] [--tmp DIR]\n");
      return 2;
    }
  }
  if (repeats < 1 || batch < 1) {
    std::fprintf(stderr, "bench_faces: --repeats and --batch must be >= 1\n");
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

  const char* rows[] = {"detector@512 (whole photo)", "landmarks, batch 1", "landmarks, batch B (per face)",
                        "descriptor, batch 1", "descriptor, batch B (per face)"};
  double cpp[2][5];
  for (int ti = 0; ti < 2; ++ti) {
    face_set_threads(ti + 1);
    auto lm_b = repeat_to(lm_crops, batch), desc_b = repeat_to(desc_crops, batch);
    cpp[ti][0] = median_ms(repeats, [&] { models.detect(image); });
    cpp[ti][1] = median_ms(repeats, [&] { models.landmarks(image, {lm_crops[0]}); });
    cpp[ti][2] = median_ms(repeats, [&] { models.landmarks(image, lm_b); }) / batch;
    cpp[ti][3] = median_ms(repeats, [&] { models.descriptors(image, {desc_crops[0]}); });
    cpp[ti][4] = median_ms(repeats, [&] { models.descriptors(image, desc_b); }) / batch;
  }

  double wasm[5] = {0, 0, 0, 0, 0};
  if (node) {
    fs::path dir = tmp / ("bench_faces." + std::to_string(::getpid()));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw BenchError("create folder " + dir.string() + ": " + ec.message());
    struct Cleanup {
      fs::path dir;
      ~Cleanup() {
        std::error_code e;
        fs::remove_all(dir, e);
      }
    } cleanup{dir};
    write_file(dir / "sample1.rgb", reinterpret_cast<const char*>(frame.rgb.data()), frame.rgb.size());
    json in = {{"input_size", 512}, {"score_threshold", 0.5},
               {"images", {{{"name", "sample1"}, {"rgb", (dir / "sample1.rgb").string()}, {"width", frame.width},
                            {"height", frame.height}}}},
               {"bench", {{"repeats", repeats}, {"batch", batch}}}};
    const std::string in_text = in.dump();
    write_file(dir / "in.json", in_text.data(), in_text.size());
    std::string script = std::string(S3E_SOURCE_DIR) + "/tests/reference/faceapi_reference.js";
    std::string cmd = "node '" + script + "' '" + (dir / "in.json").string() + "' '" + (dir / "out.json").string() + "'";
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
  }
  std::printf("%-32s %12s %12s %14s %10s %10s\n", "median ms", "C++ 1 thr", "C++ 2 thr", "WASM 1 thr", "WASM/C++1",
              "WASM/C++2");
  for (int r = 0; r < 5; ++r) {
    if (node)
      std::printf("%-32s %12.2f %12.2f %14.2f %10.2f %10.2f\n", rows[r], cpp[0][r], cpp[1][r], wasm[r],
                  wasm[r] / cpp[0][r], wasm[r] / cpp[1][r]);
    else  // --no-node: no reference was measured, so no number is printed for it
      std::printf("%-32s %12.2f %12.2f %14s %10s %10s\n", rows[r], cpp[0][r], cpp[1][r], "-", "-", "-");
  }
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
