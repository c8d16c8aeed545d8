#include "face/face_identity.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/errors.h"

namespace fs = std::filesystem;

namespace s3e {

double face_descriptor_distance(const FaceDescriptor& a, const FaceDescriptor& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s);
}

double face_descriptor_cosine_centred(const FaceDescriptor& a, const FaceDescriptor& b, const FaceDescriptor& mean) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double x = double(a[i]) - mean[i], y = double(b[i]) - mean[i];
    ab += x * y, aa += x * x, bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

double face_descriptor_cosine(const FaceDescriptor& a, const FaceDescriptor& b) {
  return face_descriptor_cosine_centred(a, b, FaceDescriptor{});
}

FaceDescriptor face_population_mean_load(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(fmt::format("{}: cannot read the descriptor population mean", path.string()));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("{}: not valid JSON ({})", path.string(), e.what()));
  }
  if (!j.is_object() || !j.contains("mean") || !j["mean"].is_array() || j["mean"].size() != 128)
    throw DataError(fmt::format("{}: expected {{\"mean\": [128 numbers]}}", path.string()));
  FaceDescriptor mean;
  for (size_t i = 0; i < 128; ++i) {
    if (!j["mean"][i].is_number() || !std::isfinite(j["mean"][i].get<double>()))
      throw DataError(fmt::format("{}: mean[{}] is not a finite number", path.string(), i));
    mean[i] = j["mean"][i].get<float>();
  }
  return mean;
}

fs::path face_population_mean_path() {
  fs::path data = S3E_FACE_SOURCE_DIR "/data";
  if (const char* env = std::getenv("S3E_DATA_DIR"); env && *env) data = env;
  return data / "face" / "descriptor_population_mean.json";
}

const FaceDescriptor& face_population_mean() {
  static const FaceDescriptor mean = face_population_mean_load(face_population_mean_path());
  return mean;
}

}  // namespace s3e
