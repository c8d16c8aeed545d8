#include "face/tfjs_weights.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  return "[" + fmt::format("{}", fmt::join(shape, ",")) + "]";
}

size_t stored_size(const std::string& dtype) {
  if (dtype == "uint8") return 1;
  if (dtype == "uint16" || dtype == "float16") return 2;
  if (dtype == "float32" || dtype == "int32") return 4;
  return 0;
}

// IEEE half to float (tfjs stores float16 quantisation as raw halves).
float half_to_float(uint16_t h) {
  uint32_t sign = (h >> 15) & 1u, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  float value;
  if (exponent == 0) value = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31) value = mantissa ? NAN : INFINITY;
  else value = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  return sign ? -value : value;
}

// Concatenates the shards of one group; paths are plain names inside the manifest's folder.
std::vector<uint8_t> read_shards(const fs::path& manifest, const json& paths) {
  if (!paths.is_array() || paths.empty())
    throw DataError(fmt::format("{}: a weight group has no 'paths' list", manifest.string()));
  std::vector<uint8_t> buffer;
  for (auto& p : paths) {
    if (!p.is_string()) throw DataError(fmt::format("{}: a shard path is not a string", manifest.string()));
    fs::path rel = p.get<std::string>();
    for (auto& part : rel)
      if (part == "..") throw DataError(fmt::format("{}: shard path '{}' leaves the model folder", manifest.string(),
                                                    rel.string()));
    if (rel.is_absolute() || rel.empty())
      throw DataError(fmt::format("{}: shard path '{}' must be relative to the manifest", manifest.string(),
                                  rel.string()));
    fs::path shard = manifest.parent_path() / rel;
    std::ifstream in(shard, std::ios::binary);
    if (!in) throw DataError(fmt::format("{}: cannot read weight shard {}", manifest.string(), shard.string()));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    buffer.insert(buffer.end(), bytes.begin(), bytes.end());
  }
  return buffer;
}

double finite_number(const fs::path& manifest, const json& q, const char* key, const std::string& name) {
  if (!q.contains(key) || !q[key].is_number())
    throw DataError(fmt::format("{}: tensor '{}' has quantization without a numeric '{}'", manifest.string(), name, key));
  double v = q[key].get<double>();
  if (!std::isfinite(v))
    throw DataError(fmt::format("{}: tensor '{}' has a non-finite quantization {}", manifest.string(), name, key));
  return v;
}

TfjsTensor decode_entry(const fs::path& manifest, const json& w, const std::vector<uint8_t>& buf, size_t& offset) {
  if (!w.is_object() || !w.contains("name") || !w["name"].is_string())
    throw DataError(fmt::format("{}: a weight entry has no 'name'", manifest.string()));
  TfjsTensor t;
  t.name = w["name"].get<std::string>();
  if (!w.contains("shape") || !w["shape"].is_array())
    throw DataError(fmt::format("{}: tensor '{}' has no 'shape' list", manifest.string(), t.name));
  int64_t n = 1;
  for (auto& d : w["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 31))
      throw DataError(fmt::format("{}: tensor '{}' has an invalid dimension {}", manifest.string(), t.name, d.dump()));
    t.shape.push_back(d.get<int64_t>());
    n *= t.shape.back();
    if (n > (int64_t{1} << 34)) throw DataError(fmt::format("{}: tensor '{}' is absurdly large", manifest.string(), t.name));
  }
  t.dtype = w.value("dtype", std::string());
  if (t.dtype != "float32" && t.dtype != "int32")
    throw DataError(fmt::format("{}: tensor '{}' has unsupported dtype '{}' (expected float32 or int32)",
                                manifest.string(), t.name, t.dtype));
  bool quantized = w.contains("quantization");
  double scale = 1, min = 0;
  t.stored_dtype = t.dtype;
  if (quantized) {
    const json& q = w["quantization"];
    t.stored_dtype = q.is_object() ? q.value("dtype", std::string()) : std::string();
    if (t.stored_dtype != "uint8" && t.stored_dtype != "uint16" && t.stored_dtype != "float16")
      throw DataError(fmt::format("{}: tensor '{}' has unknown quantization dtype '{}' (expected uint8, uint16 or "
                                  "float16)", manifest.string(), t.name, t.stored_dtype));
    if (t.stored_dtype != "float16") {
      scale = finite_number(manifest, q, "scale", t.name);
      min = finite_number(manifest, q, "min", t.name);
    } else if (t.dtype != "float32") {
      throw DataError(fmt::format("{}: tensor '{}': float16 quantization of an int32 tensor", manifest.string(), t.name));
    }
  }
  size_t bytes = static_cast<size_t>(n) * stored_size(t.stored_dtype);
  if (offset + bytes > buf.size())
    throw DataError(fmt::format("{}: tensor '{}' {} needs bytes {}..{} but the .bin data holds only {} bytes",
                                manifest.string(), t.name, shape_text(t.shape), offset, offset + bytes, buf.size()));
  const uint8_t* src = buf.data() + offset;
  offset += bytes;
  // tfjs decodeWeight: v = q * scale + min in JS numbers (double), stored as float32 / Math.round for int32.
  auto dequant = [&](int64_t i) -> double {
    if (t.stored_dtype == "uint8") return double(src[i]) * scale + min;
    uint16_t q;
    std::memcpy(&q, src + 2 * i, 2);
    return double(q) * scale + min;
  };
  if (t.dtype == "float32") {
    t.values.resize(static_cast<size_t>(n));
    if (!quantized) std::memcpy(t.values.data(), src, bytes);  // little-endian host, as tfjs assumes
    else if (t.stored_dtype == "float16")
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        t.values[i] = half_to_float(h);
      }
    else
      for (int64_t i = 0; i < n; ++i) t.values[i] = static_cast<float>(dequant(i));
  } else {
    t.ints.resize(static_cast<size_t>(n));
    if (!quantized) std::memcpy(t.ints.data(), src, bytes);
    else
      for (int64_t i = 0; i < n; ++i) t.ints[i] = static_cast<int32_t>(std::floor(dequant(i) + 0.5));
  }
  return t;
}

}  // namespace

int64_t TfjsTensor::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

fs::path tfjs_manifest_path(const fs::path& model_dir, const std::string& model) {
  return model_dir / (model + "-weights_manifest.json");
}

TfjsWeights TfjsWeights::load(const fs::path& manifest_path) {
  TfjsWeights weights;
  weights.manifest_path_ = manifest_path;
  std::ifstream in(manifest_path);
  if (!in) throw DataError(fmt::format("{}: cannot read the weight manifest", manifest_path.string()));
  json manifest;
  try {
    manifest = json::parse(in);
  } catch (const json::exception& e) {
    throw DataError(fmt::format("{}: not valid JSON ({})", manifest_path.string(), e.what()));
  }
  if (!manifest.is_array() || manifest.empty())
    throw DataError(fmt::format("{}: expected a non-empty JSON array of weight groups", manifest_path.string()));
  for (auto& group : manifest) {
    if (!group.is_object() || !group.contains("weights") || !group["weights"].is_array())
      throw DataError(fmt::format("{}: a weight group has no 'weights' list", manifest_path.string()));
    std::vector<uint8_t> buffer = read_shards(manifest_path, group.value("paths", json()));
    size_t offset = 0;
    for (auto& entry : group["weights"]) {
      TfjsTensor t = decode_entry(manifest_path, entry, buffer, offset);
      std::string name = t.name;
      if (!weights.tensors_.emplace(name, std::move(t)).second)
        throw DataError(fmt::format("{}: tensor '{}' appears twice", manifest_path.string(), name));
    }
    if (offset != buffer.size())
      throw DataError(fmt::format("{}: the manifest describes {} bytes but its .bin data holds {} bytes",
                                  manifest_path.string(), offset, buffer.size()));
  }
  return weights;
}

const TfjsTensor& TfjsWeights::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw DataError(fmt::format("{}: tensor '{}' is missing", manifest_path_.string(), name));
  if (it->second.dtype != "float32")
    throw DataError(fmt::format("{}: tensor '{}' is {}, expected float32", manifest_path_.string(), name,
                                it->second.dtype));
  if (it->second.shape != expected_shape)
    throw DataError(fmt::format("{}: tensor '{}' has shape {}, expected {}", manifest_path_.string(), name,
                                shape_text(it->second.shape), shape_text(expected_shape)));
  return it->second;
}

}  // namespace s3e
