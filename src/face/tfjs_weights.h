// tfjs_weights.h — reader of TensorFlow.js weight manifests (`<model>-weights_manifest.json` + `.bin` shards), as
// shipped by @vladmandic/face-api. Dequantisation is done exactly as tfjs-core's decodeWeight does it (double
// arithmetic, then rounding to float32). Every inconsistency (byte counts, dtypes, shapes, unknown quantisation,
// duplicate or missing tensors, paths leaving the model folder) is a DataError naming the manifest.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace s3e {

struct TfjsTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;            // "float32" or "int32" (the logical dtype)
  std::string stored_dtype;     // what the .bin holds: float32, int32, uint8, uint16 or float16
  std::vector<float> values;    // float32 tensors
  std::vector<int32_t> ints;    // int32 tensors
  int64_t numel() const;
};

class TfjsWeights {
 public:
  // Reads and validates a manifest and its shards; throws DataError naming the file on any inconsistency.
  static TfjsWeights load(const std::filesystem::path& manifest_path);

  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  // A float32 tensor by name, with its tfjs shape checked; DataError (naming the manifest) when missing/mismatched.
  const TfjsTensor& get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  const std::map<std::string, TfjsTensor>& tensors() const { return tensors_; }
  const std::filesystem::path& manifest_path() const { return manifest_path_; }

 private:
  std::filesystem::path manifest_path_;
  std::map<std::string, TfjsTensor> tensors_;
};

// "<dir>/<model>-weights_manifest.json"
std::filesystem::path tfjs_manifest_path(const std::filesystem::path& model_dir, const std::string& model);

}  // namespace s3e
