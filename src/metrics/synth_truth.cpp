#include "metrics/synth_truth.h"

#include <fmt/format.h>

#include <regex>

#include "core/config.h"
#include "core/errors.h"
#include "store/latent_store.h"

namespace fs = std::filesystem;

namespace s3e {

namespace {

torch::Tensor floats(std::vector<float> v, std::vector<int64_t> shape) {
  return torch::from_blob(v.data(), shape, torch::kFloat).clone();
}

torch::Tensor longs(const std::vector<int32_t>& v) {
  return torch::from_blob(const_cast<int32_t*>(v.data()), {int64_t(v.size())}, torch::kInt32).to(torch::kLong);
}

// A number from the config_ini attribute, else from the `model` text written by synth
// ("x = mean + 3 * sum_a s_a d_a + identity + N(0, 0.05^2); labels = s > 0").
double truth_number(const LatentStore& f, const std::string& key, const std::string& model_pattern) {
  std::string text = ini_text_value(f.attribute_text("config_ini"), "synth", key);
  if (text.empty()) {
    std::smatch m;
    std::string model = f.attribute_text("model");
    if (std::regex_search(model, m, std::regex(model_pattern))) text = m[1].str();
  }
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw DataError(fmt::format("{}: cannot find synth.{} in its config_ini or model attributes (got '{}')",
                              f.path().string(), key, text));
}

}  // namespace

SynthTruth synth_truth_make(torch::Tensor directions, torch::Tensor mean, torch::Tensor region_of_dim,
                            torch::Tensor target_region, torch::Tensor leak_region, double attribute_scale,
                            double label_threshold) {
  SynthTruth t;
  t.directions = directions.to(torch::kFloat).contiguous();
  t.mean = mean.to(torch::kFloat).reshape({-1});
  t.region_of_dim = region_of_dim.to(torch::kLong).reshape({-1});
  t.target_region = target_region.to(torch::kLong);
  t.leak_region = leak_region.to(torch::kLong);
  t.attribute_scale = attribute_scale;
  t.label_threshold = label_threshold;
  // Directions are unit but not exactly orthogonal (same-region directions overlap by ~1/sqrt(region dims)), so
  // coordinates on their span are least-squares ones: c = (D D^T)^-1 D x. In double: the Gram matrix is tiny.
  auto d = t.directions.to(torch::kDouble);
  auto gram = torch::mm(d, d.t());
  t.coefficients = torch::linalg_solve(gram, d).to(torch::kFloat).contiguous();
  return t;
}

SynthTruth synth_truth_load(const fs::path& path) {
  LatentStore f(path, "s3editor.synth_truth");
  for (const char* name : {"directions", "mean", "region_of_dim", "target_region", "leak_region", "strengths"})
    if (!f.has_column(name)) throw DataError(fmt::format("{}: ground-truth dataset '{}' is missing", path.string(), name));
  const int64_t A = f.num_attributes(), D = f.latent_dim();
  auto dir_shape = f.column_shape("directions");
  if (dir_shape.empty() || dir_shape[0] != A)
    throw DataError(fmt::format("{}: directions has {} rows but the file names {} attributes", path.string(),
                                dir_shape.empty() ? 0 : dir_shape[0], A));
  double scale = truth_number(f, "attribute_scale", R"(mean \+ ([-+0-9.eE]+) \* sum)");
  double threshold = truth_number(f, "label_threshold", R"(labels = s > ([-+0-9.eE]+))");
  if (!(scale > 0)) throw DataError(fmt::format("{}: attribute_scale {} must be positive", path.string(), scale));
  auto region = f.read_array_i32("region_of_dim");
  if (int64_t(region.size()) != D)
    throw DataError(fmt::format("{}: region_of_dim has {} values for {} latent dims", path.string(), region.size(), D));
  SynthTruth t = synth_truth_make(floats(f.read_array_f32("directions"), {A, D}), floats(f.read_array_f32("mean"), {D}),
                                  longs(region), longs(f.read_array_i32("target_region")),
                                  longs(f.read_array_i32("leak_region")), scale, threshold);
  t.path = path;
  t.attribute_names = f.attribute_names();
  if (t.target_region.size(0) != A || t.leak_region.size(0) != A)
    throw DataError(fmt::format("{}: target_region/leak_region must hold {} values", path.string(), A));
  return t;
}

fs::path synth_truth_path_for(const LatentStore& store, const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!fs::exists(explicit_path)) throw DataError(fmt::format("{}: ground-truth file not found", explicit_path));
    return explicit_path;
  }
  std::string name = store.attribute_text("truth_file");
  if (name.empty()) return {};
  fs::path p = store.path().parent_path() / name;
  if (!fs::exists(p))
    throw DataError(fmt::format("{}: its truth_file {} is missing (give --truth, or move the folder as a whole)",
                                store.path().string(), p.string()));
  return p;
}

}  // namespace s3e
