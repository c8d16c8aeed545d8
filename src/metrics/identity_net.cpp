#include "metrics/identity_net.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "face/face_align.h"
#include "face/face_identity.h"

namespace s3e {
namespace {

class FaceApiIdentity : public IdentityNet {
 public:
  FaceApiIdentity() {
    const FaceDescriptor& m = face_population_mean();
    mean_.assign(m.begin(), m.end());
  }
  std::string name() const override { return "face-api FaceRecognitionNet (centred on " +
                                             face_population_mean_path().filename().string() + ")"; }
  int64_t dim() const override { return 128; }
  std::vector<float> describe(ImageView, const std::vector<FaceRecord>& faces) const override {
    std::vector<float> out;
    out.reserve(faces.size() * 128);
    for (auto& f : faces) out.insert(out.end(), f.descriptor.begin(), f.descriptor.end());
    return out;
  }
};

std::vector<float> mean_load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("eval.identity_mean = {}: cannot read it", path));
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw DataError(fmt::format("{}: not JSON ({})", path, e.what()));
  }
  if (!j.is_object() || !j.contains("mean") || !j["mean"].is_array() || j["mean"].empty())
    throw DataError(fmt::format("{}: expected {{\"mean\": [numbers]}}", path));
  std::vector<float> mean;
  for (auto& v : j["mean"]) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw DataError(fmt::format("{}: mean[{}] is not a finite number", path, mean.size()));
    mean.push_back(v.get<float>());
  }
  return mean;
}

class TorchScriptIdentity : public IdentityNet {
 public:
  explicit TorchScriptIdentity(const IdentityNetOptions& o) : path_(o.torchscript), size_(o.crop_size), device_(o.device) {
    if (!std::filesystem::exists(path_))
      throw UsageError(fmt::format("eval.identity_net = {}: no such file", path_));
    try {
      module_ = torch::jit::load(path_, device_);
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: not a TorchScript module ({})", path_, e.what()));
    }
    module_.eval();
    if (!o.mean_file.empty()) mean_ = mean_load(o.mean_file);
  }
  std::string name() const override { return path_; }
  int64_t dim() const override { return dim_; }
  std::vector<float> describe(ImageView frame, const std::vector<FaceRecord>& faces) const override {
    if (faces.empty()) return {};
    auto input = torch::empty({int64_t(faces.size()), size_, size_, 3}, torch::kUInt8);
    for (size_t i = 0; i < faces.size(); ++i) {
      const Image crop = face_crop_aligned(frame, face_quad_ffhq(faces[i].landmarks), size_);
      std::memcpy(input[int64_t(i)].data_ptr<uint8_t>(), crop.rgb.data(), crop.rgb.size());
    }
    torch::NoGradGuard no_grad;
    torch::Tensor x = input.permute({0, 3, 1, 2}).to(torch::kFloat).div_(255.0).contiguous().to(device_);
    torch::Tensor y;
    try {
      y = module_.forward({x}).toTensor();
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: forward on [{}, 3, {}, {}] failed: {}", path_, faces.size(), size_, size_,
                                  e.what()));
    }
    if (y.dim() != 2 || y.size(0) != int64_t(faces.size()))
      throw DataError(fmt::format("{}: returned shape {} for {} faces; expected [N, D]", path_,
                                  fmt::join(y.sizes().vec(), "x"), faces.size()));
    if (!mean_.empty() && int64_t(mean_.size()) != y.size(1))
      throw DataError(fmt::format("{}: descriptors of {} values, but the population mean has {}", path_, y.size(1),
                                  mean_.size()));
    dim_ = y.size(1);
    y = y.to(torch::kCPU).to(torch::kFloat).contiguous();
    return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
  }

 private:
  std::string path_;
  int64_t size_;
  torch::Device device_;
  mutable torch::jit::Module module_;
  mutable int64_t dim_ = 0;
};

}  // namespace

std::unique_ptr<IdentityNet> identity_net_open(const IdentityNetOptions& options) {
  if (options.torchscript.empty()) return std::make_unique<FaceApiIdentity>();
  if (options.crop_size < 16 || options.crop_size > 1024)
    throw UsageError(fmt::format("eval.identity_size = {}: expected 16..1024", options.crop_size));
  return std::make_unique<TorchScriptIdentity>(options);
}

}  // namespace s3e
