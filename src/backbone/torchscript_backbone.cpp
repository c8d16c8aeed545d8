// torchscript_backbone.cpp — a user backbone exported to TorchScript: the sidecar parser, the trusted-folder file
// reader, the on-load signature checks of encoder.pt / generator.pt / classifier.pt, and the Backbone on top of them.
// The contract (files, sidecar keys, decode modes, trust model) is docs/backbones.md "TorchScript backbones".
#include "backbone/torchscript_backbone.h"

#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "dist/sha256.h"

namespace s3e {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* k_sidecar_file = "backbone.json";
constexpr const char* k_encoder_file = "encoder.pt";
constexpr const char* k_generator_file = "generator.pt";
constexpr const char* k_classifier_file = "classifier.pt";
constexpr std::uintmax_t k_sidecar_max_bytes = 1 << 20;
constexpr int64_t k_probe_batch = 2;
constexpr int64_t k_encode_chunk = 16;     // faces per encoder call
constexpr int64_t k_measure_chunk = 1024;  // latent rows per classifier call
constexpr int64_t k_latent_dim_max = int64_t(1) << 24;

enum class DecodeMode { residual, direct };

// ---------------------------------------------------------------------------------------------------------------
// Small text helpers for messages.

std::string shape_text(c10::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

std::string shape_text(const std::vector<int64_t>& sizes) { return shape_text(c10::IntArrayRef(sizes)); }

// torch errors carry a C++ backtrace after the first line; the first line says what happened.
std::string first_line(const char* what) {
  std::string s(what);
  auto end = s.find('\n');
  if (end != std::string::npos) s.resize(end);
  return s;
}

std::string dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float:
      return "float32";
    case c10::ScalarType::Double:
      return "float64";
    case c10::ScalarType::Half:
      return "float16";
    case c10::ScalarType::BFloat16:
      return "bfloat16";
    default:
      return c10::toString(t);
  }
}

std::string json_excerpt(const json& v) {
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// ---------------------------------------------------------------------------------------------------------------
// The folder: only fixed file names, read once (hashed and loaded from the same bytes), never through a symlink
// that leaves the folder. TorchScript files are code: see the trust model in docs/backbones.md.

bool path_is_within(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

// The bytes of `name` inside the backbone folder, or nullopt when it is absent and optional.
std::optional<std::string> folder_read(const fs::path& dir, const fs::path& dir_canonical, const char* name,
                                       bool required, std::uintmax_t max_bytes = 0) {
  const fs::path path = dir / name;
  std::error_code ec;
  const fs::file_status link_status = fs::symlink_status(path, ec);
  if (ec || !fs::exists(link_status)) {
    if (!required) return std::nullopt;
    throw DataError(
        fmt::format("{}: missing (a TorchScript backbone folder holds {}, {}, {} and optionally {}; "
                    "docs/backbones.md)",
                    path.string(), k_sidecar_file, k_encoder_file, k_generator_file, k_classifier_file));
  }
  if (fs::is_symlink(link_status)) {
    const fs::path target = fs::canonical(path, ec);
    if (ec) throw DataError(fmt::format("{}: a symlink that does not resolve ({})", path.string(), ec.message()));
    if (!path_is_within(dir_canonical, target))
      throw DataError(
          fmt::format("{}: a symlink to {}, outside the backbone folder {}; TorchScript files are code "
                      "and are loaded only from inside the folder named on the command line",
                      path.string(), target.string(), dir_canonical.string()));
  }
  if (!fs::is_regular_file(path, ec)) throw DataError(fmt::format("{}: not a regular file", path.string()));
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw DataError(fmt::format("{}: cannot read its size ({})", path.string(), ec.message()));
  if (size == 0) throw DataError(fmt::format("{}: empty file", path.string()));
  if (max_bytes && size > max_bytes)
    throw DataError(fmt::format("{}: {} bytes, more than the {} a sidecar may have", path.string(), size, max_bytes));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in || !in.read(bytes.data(), std::streamsize(size)))
    throw DataError(fmt::format("{}: cannot read", path.string()));
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// The sidecar.

struct Sidecar {
  BackboneInfo info;
  DecodeMode decode = DecodeMode::residual;
};

class SidecarParser {
 public:
  explicit SidecarParser(fs::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}: {}", file_.string(), what));
  }

  void check_keys(const json& object, const std::string& where, const std::set<std::string>& known) const {
    if (!object.is_object()) fail(fmt::format("{} must be a JSON object, found {}", where, json_excerpt(object)));
    for (const auto& item : object.items()) {
      if (!known.count(item.key())) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(fmt::format("unknown key \"{}\" in {} (known keys: {})", item.key(), where, list));
      }
    }
  }

  int64_t integer(const json& v, const std::string& key, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      fail(fmt::format("\"{}\" must be an integer in [{}, {}], found {}", key, lo, hi, json_excerpt(v)));
    return v.get<int64_t>();
  }

  std::string text(const json& v, const std::string& key) const {
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 128)
      fail(fmt::format("\"{}\" must be a non-empty string of at most 128 characters, found {}", key, json_excerpt(v)));
    std::string s = v.get<std::string>();
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f) fail(fmt::format("\"{}\" holds a control character", key));
    return s;
  }

  const json& array(const json& v, const std::string& key, size_t min_size, size_t max_size) const {
    if (!v.is_array() || v.size() < min_size || v.size() > max_size)
      fail(fmt::format("\"{}\" must be an array of {} to {} entries, found {}", key, min_size, max_size,
                       json_excerpt(v)));
    return v;
  }

  std::vector<std::string> names(const json& v, const std::string& key) const {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& e : array(v, key, 1, 4096)) {
      out.push_back(text(e, key + "[]"));
      if (!seen.insert(out.back()).second) fail(fmt::format("\"{}\" names \"{}\" twice", key, out.back()));
    }
    return out;
  }

  Sidecar parse(const std::string& bytes) const {
    json doc;
    try {
      doc = json::parse(bytes);
    } catch (const json::exception& e) {
      fail(fmt::format("not valid JSON ({})", e.what()));
    }
    // No key names a path: the sidecar cannot point the loader at files outside the folder.
    check_keys(doc, "the sidecar",
               {"name", "input_size", "latent_shape", "editable_layers", "attribute_names", "alignment", "region_map",
                "decode"});
    for (const char* key : {"name", "input_size", "latent_shape"})
      if (!doc.contains(key)) fail(fmt::format("missing required key \"{}\"", key));

    Sidecar out;
    BackboneInfo& info = out.info;
    info.kind = "torchscript";
    info.needs_crop = true;
    info.name = text(doc["name"], "name");
    info.crop_size = int(integer(doc["input_size"], "input_size", 8, 4096));

    int64_t latent_dim = 1;
    for (const auto& e : array(doc["latent_shape"], "latent_shape", 1, 4)) {
      info.latent_shape.push_back(integer(e, "latent_shape[]", 1, k_latent_dim_max));
      latent_dim *= info.latent_shape.back();
      if (latent_dim > k_latent_dim_max)
        fail(fmt::format("\"latent_shape\" {} has more than {} numbers", json_excerpt(doc["latent_shape"]),
                         k_latent_dim_max));
    }
    const int64_t layers = info.latent_shape[0];
    const int64_t layer_stride = latent_dim / layers;

    int64_t first = 0, last = layers - 1;
    if (doc.contains("editable_layers")) {
      const json& v = array(doc["editable_layers"], "editable_layers", 2, 2);
      first = integer(v[0], "editable_layers[0]", 0, layers - 1);
      last = integer(v[1], "editable_layers[1]", first, layers - 1);
    }
    for (int64_t i = first * layer_stride; i < (last + 1) * layer_stride; ++i) info.editable_dims.push_back(i);

    if (doc.contains("alignment")) {
      info.alignment = text(doc["alignment"], "alignment");
      if (info.alignment != "ffhq")
        fail(
            fmt::format("\"alignment\" is \"{}\"; only \"ffhq\" (the FFHQ eye/mouth quad of face/face_align.h) is "
                        "supported",
                        info.alignment));
    }
    if (doc.contains("decode")) {
      const std::string mode = text(doc["decode"], "decode");
      if (mode == "residual")
        out.decode = DecodeMode::residual;
      else if (mode == "direct")
        out.decode = DecodeMode::direct;
      else
        fail(fmt::format("\"decode\" is \"{}\"; expected \"residual\" or \"direct\"", mode));
    }
    if (doc.contains("attribute_names")) info.attribute_names = names(doc["attribute_names"], "attribute_names");
    info.attribute_regions.assign(info.attribute_names.size(), {});
    if (doc.contains("region_map")) parse_region_map(doc["region_map"], layer_stride, info);
    return out;
  }

  void parse_region_map(const json& map, int64_t layer_stride, BackboneInfo& info) const {
    check_keys(map, "\"region_map\"", {"region_names", "region_of_layer", "region_of_dim", "attribute_regions"});
    if (!map.contains("region_names")) fail("\"region_map\" lacks \"region_names\"");
    info.region_names = names(map["region_names"], "region_map.region_names");
    const int64_t regions = int64_t(info.region_names.size());
    const int64_t layers = info.latent_shape[0];
    const int64_t latent_dim = layers * layer_stride;
    if (map.contains("region_of_layer") == map.contains("region_of_dim"))
      fail("\"region_map\" needs exactly one of \"region_of_layer\" and \"region_of_dim\"");
    if (map.contains("region_of_layer")) {
      const json& v = map["region_of_layer"];
      if (!v.is_array() || int64_t(v.size()) != layers)
        fail(
            fmt::format("\"region_map.region_of_layer\" must have one entry per layer ({}, latent_shape[0]), "
                        "found {}",
                        layers, json_excerpt(v)));
      for (const auto& e : v) {
        const auto r = int32_t(integer(e, "region_map.region_of_layer[]", -1, regions - 1));
        info.region_of_dim.insert(info.region_of_dim.end(), size_t(layer_stride), r);
      }
    } else {
      const json& v = map["region_of_dim"];
      if (!v.is_array() || int64_t(v.size()) != latent_dim)
        fail(
            fmt::format("\"region_map.region_of_dim\" must have one entry per latent number ({}), found an array "
                        "of {}",
                        latent_dim, v.is_array() ? std::to_string(v.size()) : json_excerpt(v)));
      for (const auto& e : v)
        info.region_of_dim.push_back(int32_t(integer(e, "region_map.region_of_dim[]", -1, regions - 1)));
    }
    if (map.contains("attribute_regions")) {
      const json& v = map["attribute_regions"];
      if (!v.is_object()) fail("\"region_map.attribute_regions\" must be an object {attribute: [region, ...]}");
      for (const auto& item : v.items()) {
        auto a = std::find(info.attribute_names.begin(), info.attribute_names.end(), item.key());
        if (a == info.attribute_names.end())
          fail(fmt::format("\"region_map.attribute_regions\" names attribute \"{}\", not in \"attribute_names\"",
                           item.key()));
        auto& targets = info.attribute_regions[size_t(a - info.attribute_names.begin())];
        for (const auto& name : names(item.value(), "region_map.attribute_regions." + item.key())) {
          auto r = std::find(info.region_names.begin(), info.region_names.end(), name);
          if (r == info.region_names.end())
            fail(fmt::format("\"region_map.attribute_regions.{}\" names region \"{}\", not in \"region_names\"",
                             item.key(), name));
          targets.push_back(int32_t(r - info.region_names.begin()));
        }
        std::sort(targets.begin(), targets.end());
      }
    }
  }

 private:
  fs::path file_;
};

// ---------------------------------------------------------------------------------------------------------------
// Modules: load, check the signature, run with checked outputs.

torch::Device device_parse(const std::string& spec) {
  std::optional<torch::Device> device;
  try {
    device.emplace(spec);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("backbone device \"{}\": not a torch device ({})", spec, first_line(e.what())));
  }
  if (device->is_cuda() && !torch::cuda::is_available())
    throw UsageError(
        fmt::format("backbone device \"{}\": CUDA is not available in this build or on this machine", spec));
  return *device;
}

// Expected output shape: -1 matches any size.
struct OutputSpec {
  std::vector<int64_t> shape;
  std::string what;  // "latents [2, 18, 512]" ...
};

class CheckedModule {
 public:
  CheckedModule(fs::path file, const std::string& bytes, const torch::Device& device, const char* input_what)
      : file_(std::move(file)) {
    std::istringstream in(bytes);
    try {
      module_ = torch::jit::load(in, device);
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: not a loadable TorchScript module ({})", file_.string(), first_line(e.what())));
    }
    module_.eval();
    // Gradients flow to the latents (measure_tensor), never into the user's weights.
    for (auto p : module_.parameters()) p.set_requires_grad(false);
    check_arity(input_what);
  }

  const fs::path& file() const { return file_; }

  // forward(input) -> one float32 tensor of `spec`'s shape with finite values; DataError naming the file otherwise.
  torch::Tensor run(const torch::Tensor& input, const OutputSpec& spec, const std::string& context) const {
    torch::jit::IValue out;
    try {
      out = module_.forward({input});
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: forward() failed on {} of shape {}: {}", file_.string(), context,
                                  shape_text(input.sizes()), first_line(e.what())));
    }
    if (!out.isTensor())
      throw DataError(fmt::format("{}: forward() returned a {} on {}, expected one tensor ({})", file_.string(),
                                  out.tagKind(), context, spec.what));
    torch::Tensor t = out.toTensor();
    bool shape_ok = t.dim() == int64_t(spec.shape.size());
    for (int64_t i = 0; shape_ok && i < t.dim(); ++i) shape_ok = spec.shape[i] < 0 || spec.shape[i] == t.size(i);
    if (!shape_ok)
      throw DataError(fmt::format("{}: forward() returned shape {} on {} of shape {}, expected {}", file_.string(),
                                  shape_text(t.sizes()), context, shape_text(input.sizes()), spec.what));
    if (t.scalar_type() != torch::kFloat)
      throw DataError(fmt::format("{}: forward() returned dtype {} on {}, expected float32 ({})", file_.string(),
                                  dtype_name(t.scalar_type()), context, spec.what));
    if (!torch::isfinite(t.detach()).all().item<bool>())
      throw DataError(fmt::format("{}: forward() returned NaN or Inf on {} (expected finite {})", file_.string(),
                                  context, spec.what));
    return t;
  }

 private:
  // forward(self, x: Tensor): exactly one tensor input. Checked on the schema so the message can name the inputs.
  void check_arity(const char* input_what) const {
    const auto method = module_.find_method("forward");
    if (!method) throw DataError(fmt::format("{}: has no forward() method", file_.string()));
    const auto& args = method->function().getSchema().arguments();
    std::vector<std::string> inputs;
    size_t required = 0;
    for (size_t i = 0; i < args.size(); ++i) {
      if (i == 0 && args[i].name() == "self") continue;
      inputs.push_back(args[i].name() + ": " + args[i].type()->str());
      if (!args[i].default_value()) ++required;
    }
    bool ok = !inputs.empty() && required <= 1;
    if (ok) {
      const auto& first = args[args.size() - inputs.size()];
      ok = first.type()->kind() == c10::TypeKind::TensorType;
    }
    if (!ok) {
      std::string list;
      for (const auto& s : inputs) list += (list.empty() ? "" : ", ") + s;
      throw DataError(fmt::format("{}: forward({}) takes {} input(s); expected exactly one tensor ({})", file_.string(),
                                  list, inputs.size(), input_what));
    }
  }

  fs::path file_;
  mutable torch::jit::Module module_;  // forward() is not const; a backbone is thread-compatible, not thread-safe
};

std::vector<int64_t> batch_shape(int64_t batch, const std::vector<int64_t>& rest) {
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), rest.begin(), rest.end());
  return shape;
}

// ---------------------------------------------------------------------------------------------------------------

class TorchscriptBackbone : public Backbone {
 public:
  TorchscriptBackbone(Sidecar sidecar, torch::Device device, CheckedModule encoder, CheckedModule generator,
                      std::optional<CheckedModule> classifier)
      : info_(std::move(sidecar.info)),
        decode_(sidecar.decode),
        device_(device),
        encoder_(std::move(encoder)),
        generator_(std::move(generator)),
        classifier_(std::move(classifier)) {}

  const BackboneInfo& info() const override { return info_; }
  bool has_measures() const override { return classifier_.has_value(); }

  // Probes every module with a batch of 2 (a black image and a gradient image) and keeps the generator's side.
  void probe() {
    torch::NoGradGuard no_grad;
    const int64_t s = info_.crop_size;
    torch::Tensor images = torch::zeros({k_probe_batch, 3, s, s});
    images[1] = torch::linspace(-1.0, 1.0, 3 * s * s).reshape({3, s, s});
    torch::Tensor latents = encoder_.run(images.to(device_), latent_spec(k_probe_batch), "the probe images");
    torch::Tensor generated = generator_.run(latents, generator_spec(k_probe_batch, -1), "the probe latents");
    if (generated.size(2) != generated.size(3))
      throw DataError(
          fmt::format("{}: forward() returned images of shape {} on the probe latents; expected square "
                      "images [2, 3, H, H]",
                      generator_.file().string(), shape_text(generated.sizes())));
    generator_size_ = generated.size(2);
    if (classifier_) classifier_->run(latents, classifier_spec(k_probe_batch), "the probe latents");
  }

  std::vector<float> encode(const std::vector<BackboneFace>& faces) const override {
    const int64_t s = info_.crop_size, dim = info_.latent_dim();
    std::vector<float> out(faces.size() * size_t(dim));
    torch::NoGradGuard no_grad;
    for (size_t start = 0; start < faces.size(); start += size_t(k_encode_chunk)) {
      const int64_t n = std::min<int64_t>(k_encode_chunk, int64_t(faces.size() - start));
      torch::Tensor pixels = torch::empty({n, s, s, 3}, torch::kUInt8);
      for (int64_t i = 0; i < n; ++i) {
        const ImageView& crop = faces[start + size_t(i)].crop;
        check_crop(crop, "encode");
        std::memcpy(pixels[i].data_ptr<uint8_t>(), crop.data, size_t(s * s * 3));
      }
      torch::Tensor images = pixels.to(device_).permute({0, 3, 1, 2}).to(torch::kFloat).div_(127.5).sub_(1.0);
      torch::Tensor z = encoder_.run(images, latent_spec(n), fmt::format("faces {}..{}", start, start + size_t(n) - 1));
      z = z.reshape({n, dim}).to(torch::kCPU).contiguous();
      std::memcpy(out.data() + start * size_t(dim), z.data_ptr<float>(), size_t(n * dim) * sizeof(float));
    }
    return out;
  }

  Image decode(const float* edited, const float* source, ImageView source_crop) const override {
    const int64_t s = info_.crop_size, dim = info_.latent_dim();
    check_crop(source_crop, "decode");
    Image out{int(s), int(s)};
    // Residual decoding of an unedited face is the crop itself, bit for bit (no generator round trip).
    if (decode_ == DecodeMode::residual && std::memcmp(edited, source, size_t(dim) * sizeof(float)) == 0) {
      std::memcpy(out.rgb.data(), source_crop.data, out.rgb.size());
      return out;
    }
    torch::NoGradGuard no_grad;
    auto latent = [&](const float* z) {
      return torch::from_blob(const_cast<float*>(z), batch_shape(1, info_.latent_shape), torch::kFloat);
    };
    torch::Tensor pixels;  // [3, s, s] float in 0..255
    if (decode_ == DecodeMode::residual) {
      // out = crop + G(edited) - G(source): what the edit changes, on top of the real pixels (detail the generator
      // cannot reproduce survives). One batch of 2, the probe's batch size.
      torch::Tensor z = torch::cat({latent(edited), latent(source)}).to(device_);
      torch::Tensor g = generator_.run(z, generator_spec(2, generator_size_), "the edited and source latents");
      torch::Tensor delta = resize_to_crop((g[0] - g[1]).unsqueeze(0))[0].mul(127.5);
      torch::Tensor crop = torch::from_blob(const_cast<uint8_t*>(source_crop.data), {s, s, 3}, torch::kUInt8)
                               .to(device_)
                               .permute({2, 0, 1})
                               .to(torch::kFloat);
      pixels = crop + delta;
    } else {
      torch::Tensor g =
          generator_.run(latent(edited).clone().to(device_), generator_spec(1, generator_size_), "the edited latents");
      pixels = resize_to_crop(g)[0].add(1.0).mul(127.5);
    }
    torch::Tensor rgb = pixels.clamp(0, 255).round().to(torch::kUInt8).permute({1, 2, 0}).to(torch::kCPU).contiguous();
    std::memcpy(out.rgb.data(), rgb.data_ptr<uint8_t>(), out.rgb.size());
    return out;
  }

  std::vector<float> measure(const float* latents, int64_t rows) const override {
    if (!classifier_) return Backbone::measure(latents, rows);
    const int64_t dim = info_.latent_dim(), attributes = int64_t(info_.attribute_names.size());
    std::vector<float> out(size_t(rows * attributes));
    torch::NoGradGuard no_grad;
    for (int64_t start = 0; start < rows; start += k_measure_chunk) {
      const int64_t n = std::min(k_measure_chunk, rows - start);
      // A copy: the module is the user's code and must not be able to write into the caller's latents.
      torch::Tensor z =
          torch::from_blob(const_cast<float*>(latents + start * dim), batch_shape(n, info_.latent_shape), torch::kFloat)
              .to(device_, /*non_blocking=*/false, /*copy=*/true);
      torch::Tensor a = classifier_->run(z, classifier_spec(n), fmt::format("latent rows {}..{}", start, start + n - 1))
                            .to(torch::kCPU)
                            .contiguous();
      std::memcpy(out.data() + start * attributes, a.data_ptr<float>(), size_t(n * attributes) * sizeof(float));
    }
    return out;
  }

  at::Tensor measure_tensor(const at::Tensor& latents) const override {
    if (!classifier_) return Backbone::measure_tensor(latents);
    if (latents.dim() != 2 || latents.size(1) != info_.latent_dim())
      throw UsageError(fmt::format("backbone '{}': measure_tensor() takes latents [B, {}], got {}", info_.name,
                                   info_.latent_dim(), shape_text(latents.sizes())));
    const int64_t n = latents.size(0);
    torch::Tensor z = latents.to(device_, torch::kFloat).reshape(batch_shape(n, info_.latent_shape));
    return classifier_->run(z, classifier_spec(n), "latents").to(latents.device());
  }

 private:
  OutputSpec latent_spec(int64_t batch) const {
    auto shape = batch_shape(batch, info_.latent_shape);
    return {shape, "latents " + shape_text(shape)};
  }
  OutputSpec generator_spec(int64_t batch, int64_t side) const {
    return {{batch, 3, side, side},
            fmt::format("images [{}, 3, {}, {}] in [-1, 1]", batch, side < 0 ? "H" : std::to_string(side),
                        side < 0 ? "H" : std::to_string(side))};
  }
  OutputSpec classifier_spec(int64_t batch) const {
    const int64_t a = int64_t(info_.attribute_names.size());
    return {{batch, a}, fmt::format("attribute logits [{}, {}], one per name in attribute_names", batch, a)};
  }

  void check_crop(const ImageView& crop, const char* what) const {
    if (!crop.data || crop.width != info_.crop_size || crop.height != info_.crop_size)
      throw UsageError(fmt::format("backbone '{}': {} needs aligned crops of {}x{}, got {}x{}", info_.name, what,
                                   info_.crop_size, info_.crop_size, crop.width, crop.height));
  }

  // [B, 3, H, H] -> [B, 3, S, S], bilinear (antialiased when shrinking, e.g. StyleGAN2's 1024 to a 256 crop).
  torch::Tensor resize_to_crop(const torch::Tensor& images) const {
    const int64_t s = info_.crop_size;
    if (images.size(2) == s && images.size(3) == s) return images;
    namespace F = torch::nn::functional;
    return F::interpolate(images, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{s, s})
                                      .mode(torch::kBilinear)
                                      .align_corners(false)
                                      .antialias(images.size(2) > s));
  }

  BackboneInfo info_;
  DecodeMode decode_;
  torch::Device device_;
  CheckedModule encoder_;
  CheckedModule generator_;
  std::optional<CheckedModule> classifier_;
  int64_t generator_size_ = -1;
};

}  // namespace

std::unique_ptr<Backbone> torchscript_backbone_open(const std::filesystem::path& dir,
                                                    const BackboneOpenOptions& options) {
  std::error_code ec;
  const fs::path dir_canonical = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(dir_canonical))
    throw UsageError(fmt::format("backbone folder {}: not a readable folder", dir.string()));
  const torch::Device device = device_parse(options.device);

  // Only these fixed names are opened, and each is read once: the fingerprint covers exactly the bytes loaded.
  const std::string sidecar_bytes = *folder_read(dir, dir_canonical, k_sidecar_file, true, k_sidecar_max_bytes);
  Sidecar sidecar = SidecarParser(dir / k_sidecar_file).parse(sidecar_bytes);
  const std::string encoder_bytes = *folder_read(dir, dir_canonical, k_encoder_file, true);
  const std::string generator_bytes = *folder_read(dir, dir_canonical, k_generator_file, true);
  const std::optional<std::string> classifier_bytes = folder_read(dir, dir_canonical, k_classifier_file, false);

  const size_t attributes = sidecar.info.attribute_names.size();
  if (classifier_bytes && attributes == 0)
    throw DataError(fmt::format("{}: \"attribute_names\" is missing, but {} exists (one name per classifier output)",
                                (dir / k_sidecar_file).string(), k_classifier_file));
  if (!classifier_bytes && attributes > 0)
    throw DataError(fmt::format("{}: \"attribute_names\" given, but there is no {} to measure them",
                                (dir / k_sidecar_file).string(), (dir / k_classifier_file).string()));

  // fingerprint = SHA-256 of `sha256sum backbone.json encoder.pt generator.pt [classifier.pt]`'s output.
  std::string listing;
  auto list = [&](const char* name, const std::string& bytes) { listing += sha256_hex(bytes) + "  " + name + "\n"; };
  list(k_sidecar_file, sidecar_bytes);
  list(k_encoder_file, encoder_bytes);
  list(k_generator_file, generator_bytes);
  if (classifier_bytes) list(k_classifier_file, *classifier_bytes);
  sidecar.info.fingerprint = sha256_hex(listing);

  CheckedModule encoder(dir / k_encoder_file, encoder_bytes, device, "images [B, 3, S, S] float32 in [-1, 1]");
  CheckedModule generator(dir / k_generator_file, generator_bytes, device, "latents [B, ...latent_shape] float32");
  std::optional<CheckedModule> classifier;
  if (classifier_bytes)
    classifier.emplace(dir / k_classifier_file, *classifier_bytes, device, "latents [B, ...latent_shape] float32");

  auto backbone = std::make_unique<TorchscriptBackbone>(std::move(sidecar), device, std::move(encoder),
                                                        std::move(generator), std::move(classifier));
  backbone->probe();
  return backbone;
}

}  // namespace s3e
