#include "face/face_models.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "core/errors.h"
#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include "face/face_association.h"
#include "face/face_cpu.h"
#include "face/face_crops.h"
#include "face/face_detector_size.h"
#include "face/face_nets.h"
#include "face/tiny_face_decode.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

constexpr float k_mean_face[3] = {122.782f, 117.001f, 104.298f};     // landmark/expression/age/recognition nets
constexpr float k_mean_detector[3] = {117.001f, 114.697f, 97.404f};  // TinyFaceDetector

// face-api NetInput.toBatchTensor for one crop, then normalisation: zero-pad the crop to a square (centred, or at
// the bottom/right), TF legacy bilinear resize to S x S (float32 coordinate math, as the WASM kernel), then
// (x - mean) / 255. Writes NCHW planes of S*S floats. Gathers straight from the uint8 image.
void preprocess_crop(ImageView image, const FaceRect& crop, int S, bool center, const float mean[3], float* out) {
  int h = crop.height, w = crop.width, side = std::max(h, w);
  int top = 0, left = 0;
  if (center) {
    int d = std::abs(h - w);
    int before = d - static_cast<int>(std::floor(d * 0.5 + 0.5));
    (h < w ? top : left) = before;
  }
  // Source index along one axis of the padded square for each output index, and the interpolation weights.
  std::vector<int> i0(S), i1(S);
  std::vector<float> frac(S);
  float scale = static_cast<float>(side) / static_cast<float>(S);
  for (int i = 0; i < S; ++i) {
    float src = side == S ? static_cast<float>(i) : static_cast<float>(i) * scale;
    float f0 = std::floor(src);
    i0[i] = static_cast<int>(f0);
    i1[i] = std::min(static_cast<int>(std::ceil(src)), side - 1);
    frac[i] = src - f0;
  }
  const size_t stride = size_t(image.width) * 3;
  auto value = [&](int py, int px, int c) -> float {  // padded square pixel
    int y = py - top, x = px - left;
    if (y < 0 || y >= h || x < 0 || x >= w) return 0.f;
    return image.data[size_t(crop.y + y) * stride + size_t(crop.x + x) * 3 + c];
  };
  const size_t plane = size_t(S) * S;
  for (int oy = 0; oy < S; ++oy) {
    float fy = frac[oy];
    for (int ox = 0; ox < S; ++ox) {
      float fx = frac[ox];
      for (int c = 0; c < 3; ++c) {
        float tl = value(i0[oy], i0[ox], c), tr = value(i0[oy], i1[ox], c);
        float bl = value(i1[oy], i0[ox], c), br = value(i1[oy], i1[ox], c);
        float topv = tl + (tr - tl) * fx, bottom = bl + (br - bl) * fx;
        float v = topv + (bottom - topv) * fy;
        out[c * plane + size_t(oy) * S + ox] = (v - mean[c]) / 255.f;
      }
    }
  }
}

void check_crops(ImageView image, const std::vector<FaceRect>& crops) {
  for (auto& c : crops)
    if (c.empty() || c.x < 0 || c.y < 0 || c.x + c.width > image.width || c.y + c.height > image.height)
      throw std::invalid_argument(fmt::format("face crop ({},{} {}x{}) is empty or outside the {}x{} image", c.x,
                                              c.y, c.width, c.height, image.width, image.height));
}

// OpenMP's per-thread thread count (ATen's parallel_for, oneDNN and OpenBLAS-OpenMP read it), looked up at run time
// in the OpenMP runtime LibTorch loaded (this library does not link one itself); at::set_num_threads otherwise, which
// also rebuilds torch's pthreadpool on every change.
int omp_threads_get() {
  using Get = int (*)();
  static Get get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return get ? get() : at::get_num_threads();
}

void omp_threads_set(int threads) {
  using Set = void (*)(int);
  static Set set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set) set(threads);
  else at::set_num_threads(threads);
}

}  // namespace

void face_set_threads(int threads) { at::set_num_threads(std::max(1, threads)); }

fs::path face_cache_dir() {
  if (const char* env = std::getenv("S3E_CACHE_DIR"); env && *env) return env;
  return fs::path(S3E_FACE_SOURCE_DIR) / ".cache";
}

fs::path face_model_dir() { return face_cache_dir() / "node" / "node_modules" / "@vladmandic" / "face-api" / "model"; }

struct FaceModels::Impl {
  FaceModelsOptions options;
  torch::Device device{torch::kCPU};
  std::unique_ptr<TinyFaceDetectorNet> detector;
  std::unique_ptr<FaceDenseNet> landmark_net, expression_net;
  std::unique_ptr<FaceRecognitionNet> recognition_net;
  std::unique_ptr<AgeGenderNet> age_gender_net;
  mutable std::atomic<long> detector_runs{0};
  mutable std::mutex seconds_mutex;
  mutable FaceModels::Seconds seconds;

  // Adds the time from construction to destruction to one of `seconds`.
  struct Timer {
    const Impl& impl;
    double FaceModels::Seconds::*field;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~Timer() {
      std::lock_guard<std::mutex> lock(impl.seconds_mutex);
      impl.seconds.*field += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  };

  // Kernel choice per (net, input side, batch rounded up to a power of two, intra-op threads): activation layout
  // (NCHW or channels_last), convolutions through LibTorch's own per-call choice or all through oneDNN, and the
  // threads (the ones set, or 1). By default a fixed choice: channels_last with every convolution through oneDNN,
  // at the threads set. It was the fastest of the candidates on AMD EPYC (NCHW 2-3x slower there; on an Intel Xeon
  // channels_last made the detector ~3x faster than NCHW, LibTorch 1.13's NCHW max_pool2d being slow), and a fixed
  // choice keeps results bit-identical between processes: layouts differ in the last bits, and a stage's outputs
  // must not depend on which process happened to measure which kernel faster (ingest's item files are compared
  // byte for byte across rank counts). S3E_FACE_LAYOUT=measure times every candidate on the net's first such input
  // and keeps the fastest (faster where another layout wins, not reproducible between processes);
  // S3E_FACE_LAYOUT=nchw|channels_last|channels_last+onednn forces one (threads as set).
  struct Choice {
    bool channels_last = false, onednn = false;
    int threads = 1;
    std::string name() const {
      return fmt::format("{}{}", channels_last ? "channels_last" : "nchw", onednn ? "+onednn" : "");
    }
  };
  mutable std::mutex layout_mutex;
  mutable std::map<std::string, Choice> layout_choice;
  mutable std::vector<std::string> layout_lines;

  // Sets the net's layout and kernels for input `x`; returns the intra-op threads to run it with.
  template <class Net>
  int layout_choose(const char* net_name, Net& net, const torch::Tensor& x) const {
    int64_t batch = 1;
    while (batch < x.size(0)) batch *= 2;
    const int threads = omp_threads_get();
    const std::string net_key = fmt::format("{}@{} batch {}", net_name, x.size(2), batch);
    const std::string key = fmt::format("{} {}", net_key, threads);
    std::lock_guard<std::mutex> lock(layout_mutex);
    auto apply = [&](const Choice& c) {
      net.channels_last = c.channels_last;
      net.onednn = c.onednn;
      return c.threads;
    };
    if (auto it = layout_choice.find(key); it != layout_choice.end()) return apply(it->second);
    std::vector<Choice> candidates;
    for (int t : {threads, 1}) {
      if (t == 1 && threads == 1 && !candidates.empty()) break;
      candidates.push_back({false, false, t});
      candidates.push_back({true, false, t});
      if (at::hasMKLDNN()) candidates.push_back({true, true, t});
    }
    Choice chosen = candidates.front();
    std::string line;
    const char* env = std::getenv("S3E_FACE_LAYOUT");
    const bool measure = env && std::string(env) == "measure";
    const std::string wanted = env && !measure ? env : (at::hasMKLDNN() ? "channels_last+onednn" : "channels_last");
    bool forced = false;
    if (!measure)
      for (auto& c : candidates)
        if (c.threads == threads && c.name() == wanted) chosen = c, forced = true;
    if (!x.is_cpu()) {  // CPU kernels only: on an accelerator keep NCHW (asynchronous runs would time nothing)
      chosen = {false, false, threads};
      line = fmt::format("{} on {}: nchw (not measured off the CPU)", net_key, x.device().str());
    } else if (forced) {
      line = fmt::format("{} ({} thr): {} ({})", net_key, threads, wanted, env ? "S3E_FACE_LAYOUT" : "default");
    } else {
      // Round 0 warms every candidate up (oneDNN primitive creation, allocator); then the best of three runs each,
      // interleaved so that load from other processes hits every candidate alike.
      std::vector<double> best(candidates.size(), std::numeric_limits<double>::infinity());
      for (int round = 0; round < 4; ++round)
        for (size_t i = 0; i < candidates.size(); ++i) {
          apply(candidates[i]);
          omp_threads_set(candidates[i].threads);
          auto start = std::chrono::steady_clock::now();
          net.forward(x);
          double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
          if (round > 0) best[i] = std::min(best[i], ms);
        }
      omp_threads_set(threads);
      size_t pick = size_t(std::min_element(best.begin(), best.end()) - best.begin());
      chosen = candidates[pick];
      std::string times;
      for (size_t i = 0; i < candidates.size(); ++i)
        times += fmt::format("{}{} {} thr {:.2f}", i ? ", " : "", candidates[i].name(), candidates[i].threads, best[i]);
      line = fmt::format("{} ({} thr set): {}, {} thr (measured ms: {})", net_key, threads, chosen.name(),
                         chosen.threads, times);
    }
    spdlog::info("face nets: kernels of {}", line);
    layout_lines.push_back(line);
    layout_choice[key] = chosen;
    return apply(chosen);
  }

  // Runs with `threads` intra-op threads, restoring the setting after (omp_threads_set).
  struct ThreadScope {
    int saved = omp_threads_get();
    explicit ThreadScope(int threads) {
      if (threads != saved) omp_threads_set(threads);
    }
    ~ThreadScope() {
      if (omp_threads_get() != saved) omp_threads_set(saved);
    }
  };

  // Preprocesses crops [begin, end) into one [n,3,S,S] batch on the device.
  torch::Tensor batch(ImageView image, const std::vector<FaceRect>& crops, size_t begin, size_t end, int S,
                      bool center, const float mean[3]) const {
    auto x = torch::empty({int64_t(end - begin), 3, S, S}, torch::kFloat32);
    for (size_t i = begin; i < end; ++i)
      preprocess_crop(image, crops[i], S, center, mean, x.data_ptr<float>() + (i - begin) * 3 * size_t(S) * S);
    return x.to(device);
  }

  // Runs `fn(batch, begin, end)` over crops in chunks of max_batch.
  template <class Fn>
  void chunks(size_t n, Fn fn) const {
    size_t step = size_t(std::max(1, options.max_batch));
    for (size_t b = 0; b < n; b += step) fn(b, std::min(n, b + step));
  }
};

FaceModels::FaceModels(const FaceModelsOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  face_malloc_keep();
  if (impl_->options.model_dir.empty()) impl_->options.model_dir = face_model_dir();
  if (options.detector_input_size < 0 || options.detector_input_size % 32 ||
      options.detector_input_size > k_face_detector_max)
    throw UsageError(fmt::format("face detector input size {} must be 0 (auto) or a positive multiple of 32 up to {}",
                                 options.detector_input_size, k_face_detector_max));
  if (!(options.detector_min_face > 0))
    throw UsageError(fmt::format("face detector minimum face height {} must be positive", options.detector_min_face));
  try {
    impl_->device = torch::Device(options.device);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("unknown torch device '{}'", options.device));
  }
  const fs::path& dir = impl_->options.model_dir;
  auto load = [&](const char* model) {
    fs::path manifest = tfjs_manifest_path(dir, model);
    if (!fs::exists(manifest))
      throw DataError(fmt::format("{}: face-api model missing (run jobs/setup.sh, or set S3E_CACHE_DIR)",
                                  manifest.string()));
    return TfjsWeights::load(manifest);
  };
  torch::NoGradGuard no_grad;
  impl_->detector = std::make_unique<TinyFaceDetectorNet>(load("tiny_face_detector_model"), impl_->device);
  impl_->landmark_net = std::make_unique<FaceDenseNet>(load("face_landmark_68_model"), impl_->device, 136);
  if (options.load_descriptor)
    impl_->recognition_net = std::make_unique<FaceRecognitionNet>(load("face_recognition_model"), impl_->device);
  if (options.load_attributes) {
    impl_->expression_net = std::make_unique<FaceDenseNet>(load("face_expression_model"), impl_->device, 7);
    impl_->age_gender_net = std::make_unique<AgeGenderNet>(load("age_gender_model"), impl_->device);
  }
}

FaceModels::~FaceModels() = default;

const FaceModelsOptions& FaceModels::options() const { return impl_->options; }

std::vector<int> FaceModels::detector_input_sizes(int width, int height) const {
  if (impl_->options.detector_input_size > 0) return {impl_->options.detector_input_size};
  return face_detector_auto_passes(width, height, impl_->options.detector_min_face);
}

long FaceModels::detector_runs() const { return impl_->detector_runs.load(); }

FaceModels::Seconds FaceModels::seconds() const {
  std::lock_guard<std::mutex> lock(impl_->seconds_mutex);
  return impl_->seconds;
}

std::string FaceModels::layout_report() const {
  std::lock_guard<std::mutex> lock(impl_->layout_mutex);
  std::string out = face_malloc_keep();
  for (auto& line : impl_->layout_lines) out += "\n" + line;
  return out;
}

std::vector<FaceDetection> FaceModels::detect(ImageView image) const {
  if (image.width <= 0 || image.height <= 0) return {};
  ++impl_->detector_runs;
  Impl::Timer timer{*impl_, &Seconds::detect};
  torch::InferenceMode guard;
  FaceRect whole{0, 0, image.width, image.height};
  std::vector<FaceDetection> all;
  for (int S : detector_input_sizes(image.width, image.height)) {
    torch::Tensor x, out;
    {
      Impl::Timer t{*impl_, &Seconds::detect_preprocess};
      x = impl_->batch(image, {whole}, 0, 1, S, false, k_mean_detector);
    }
    {
      Impl::Timer t{*impl_, &Seconds::detect_forward};
      Impl::ThreadScope threads(impl_->layout_choose("detector", *impl_->detector, x));
      out = impl_->detector->forward(x).to(torch::kCPU).contiguous();
    }
    Impl::Timer t{*impl_, &Seconds::detect_decode};
    TinyFaceDecodeOptions decode;
    decode.input_size = S;
    decode.score_threshold = impl_->options.detector_score;
    auto found = tiny_face_decode(out.data_ptr<float>(), static_cast<int>(out.size(2)), image.width, image.height,
                                  decode);
    if (all.empty()) {
      all = std::move(found);
      continue;
    }
    // A later (larger) pass adds the faces too small for the earlier ones; a face both found keeps the first box.
    FaceAssociationOptions same;
    size_t earlier = all.size();
    for (auto& d : found) {
      bool known = false;
      for (size_t k = 0; k < earlier && !known; ++k) known = face_same_place(d.box, all[k].box, same);
      if (!known) all.push_back(d);
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const FaceDetection& a, const FaceDetection& b) { return a.score > b.score; });
  return all;
}

std::vector<FaceLandmarks> FaceModels::landmarks(ImageView image, const std::vector<FaceRect>& crops) const {
  check_crops(image, crops);
  Impl::Timer timer{*impl_, &Seconds::landmarks};
  torch::InferenceMode guard;
  std::vector<FaceLandmarks> result(crops.size());
  impl_->chunks(crops.size(), [&](size_t begin, size_t end) {
    auto x = impl_->batch(image, crops, begin, end, 112, true, k_mean_face);
    torch::Tensor out;
    {
      Impl::ThreadScope threads(impl_->layout_choose("landmarks", *impl_->landmark_net, x));
      out = impl_->landmark_net->forward(x);
    }
    out = out.to(torch::kCPU).contiguous();
    const float* o = out.data_ptr<float>();
    for (size_t i = begin; i < end; ++i) {
      // FaceLandmark68NetBase.postProcess, float32 like the tensors it uses.
      double s = 112.0 / std::max(crops[i].width, crops[i].height);
      double w = crops[i].width * s, h = crops[i].height * s;
      float pad_x = w < h ? static_cast<float>(std::abs(w - h) / 2) : 0.f;
      float pad_y = h < w ? static_cast<float>(std::abs(w - h) / 2) : 0.f;
      const float* row = o + (i - begin) * 136;
      for (int k = 0; k < 68; ++k) {
        float x = (row[2 * k] * 112.f - pad_x) / static_cast<float>(w);
        float y = (row[2 * k + 1] * 112.f - pad_y) / static_cast<float>(h);
        result[i][k] = {x, y};
      }
    }
  });
  return result;
}

std::vector<FaceLandmarks> FaceModels::landmarks_in_image(ImageView image, const std::vector<FaceRect>& crops) const {
  auto rel = landmarks(image, crops);
  for (size_t i = 0; i < rel.size(); ++i)
    rel[i] = face_landmarks_to_image(rel[i], crops[i], {double(crops[i].x), double(crops[i].y)});
  return rel;
}

std::vector<FaceDescriptor> FaceModels::descriptors(ImageView image, const std::vector<FaceRect>& crops) const {
  if (!impl_->recognition_net) throw std::logic_error("FaceModels: descriptor net not loaded (load_descriptor)");
  check_crops(image, crops);
  Impl::Timer timer{*impl_, &Seconds::descriptors};
  torch::InferenceMode guard;
  std::vector<FaceDescriptor> result(crops.size());
  impl_->chunks(crops.size(), [&](size_t begin, size_t end) {
    auto x = impl_->batch(image, crops, begin, end, 150, true, k_mean_face);
    torch::Tensor out;
    {
      Impl::ThreadScope threads(impl_->layout_choose("descriptor", *impl_->recognition_net, x));
      out = impl_->recognition_net->forward(x);
    }
    out = out.to(torch::kCPU).contiguous();
    for (size_t i = begin; i < end; ++i)
      std::copy_n(out.data_ptr<float>() + (i - begin) * 128, 128, result[i].begin());
  });
  return result;
}

std::vector<FaceAttributes> FaceModels::attributes(ImageView image, const std::vector<FaceRect>& crops) const {
  if (!impl_->age_gender_net) throw std::logic_error("FaceModels: attribute nets not loaded (load_attributes)");
  check_crops(image, crops);
  Impl::Timer timer{*impl_, &Seconds::attributes};
  torch::InferenceMode guard;
  std::vector<FaceAttributes> result(crops.size());
  impl_->chunks(crops.size(), [&](size_t begin, size_t end) {
    auto x = impl_->batch(image, crops, begin, end, 112, true, k_mean_face);
    auto expressions = at::softmax(impl_->expression_net->forward(x), 1).to(torch::kCPU).contiguous();
    auto [age, gender] = impl_->age_gender_net->forward(x);
    age = age.to(torch::kCPU).contiguous();
    gender = gender.to(torch::kCPU).contiguous();
    for (size_t i = begin; i < end; ++i) {
      size_t j = i - begin;
      result[i].age = age.data_ptr<float>()[j];
      result[i].male_probability = gender.data_ptr<float>()[2 * j];
      std::copy_n(expressions.data_ptr<float>() + j * 7, 7, result[i].expressions.begin());
    }
  });
  return result;
}

std::vector<FaceRecord> FaceModels::analyze(ImageView image) const {
  const int W = image.width, H = image.height;
  std::vector<FaceRecord> faces;
  for (auto& det : detect(image)) {
    FaceRecord r;
    r.detection = det;
    // extractFaceTensors calls forSize() on the detection: two more relative/absolute round trips.
    r.landmark_crop = face_rect_clip(face_box_round_trip(det.box, W, H, 2), W, H);
    if (!r.landmark_crop.empty()) faces.push_back(r);
  }
  std::vector<FaceRect> crops;
  for (auto& f : faces) crops.push_back(f.landmark_crop);
  auto rel = landmarks(image, crops);
  std::vector<FaceRect> attribute_crops, descriptor_crops;
  for (size_t i = 0; i < faces.size(); ++i) {
    FaceRecord& f = faces[i];
    f.landmarks = face_landmarks_to_image(rel[i], f.landmark_crop, {f.detection.box.x, f.detection.box.y});
    // alignedRect becomes a FaceDetection (one round trip), then forSize() in extractFaceTensors (two more).
    f.attribute_crop = face_rect_clip(face_box_round_trip(face_aligned_rect(f.landmarks), W, H, 3), W, H);
    f.descriptor_crop = face_descriptor_rect(f.landmarks, f.landmark_crop, W, H);
    attribute_crops.push_back(f.attribute_crop);
    descriptor_crops.push_back(f.descriptor_crop);
  }
  // face-api drops empty crops; a face whose attribute/descriptor crop is empty keeps zeros there.
  auto run_nonempty = [&](const std::vector<FaceRect>& all, auto fn) {
    std::vector<FaceRect> valid;
    std::vector<size_t> index;
    for (size_t i = 0; i < all.size(); ++i)
      if (!all[i].empty()) valid.push_back(all[i]), index.push_back(i);
    fn(valid, index);
  };
  if (impl_->recognition_net)
    run_nonempty(descriptor_crops, [&](auto& valid, auto& index) {
      auto d = descriptors(image, valid);
      for (size_t k = 0; k < index.size(); ++k) faces[index[k]].descriptor = d[k];
    });
  if (impl_->age_gender_net)
    run_nonempty(attribute_crops, [&](auto& valid, auto& index) {
      auto a = attributes(image, valid);
      for (size_t k = 0; k < index.size(); ++k) faces[index[k]].attributes = a[k];
    });
  return faces;
}

}  // namespace s3e
