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
  t.thresholds = torch::full({t.directions.size(0)}, label_threshold, torch::kFloat);
  return t;
}

void synth_truth_set_honest(SynthTruth& t, torch::Tensor rotation_directions, torch::Tensor rotation_weights,
                            torch::Tensor identity_basis, torch::Tensor region_bases, torch::Tensor thresholds,
                            double rotation_max, double identity_scale) {
  const int64_t A = t.num_attributes(), D = t.dim();
  t.preset = "honest";
  t.rotation_directions = rotation_directions.to(torch::kFloat).reshape({A, D}).contiguous();
  t.rotation_weights = rotation_weights.to(torch::kFloat).reshape({A, -1}).contiguous();
  t.identity_basis = identity_basis.to(torch::kFloat).reshape({-1, D}).contiguous();
  t.region_bases = region_bases.to(torch::kFloat).reshape({region_bases.size(0), -1, D}).contiguous();
  t.thresholds = thresholds.to(torch::kFloat).reshape({A});
  t.rotation_max = rotation_max;
  t.identity_scale = identity_scale;
  auto w = torch::cat({t.directions, t.rotation_directions}, 0).to(torch::kDouble);
  t.basis_gram = torch::mm(w, w.t());
}

torch::Tensor synth_truth_identity_coords(const SynthTruth& t, const torch::Tensor& x) {
  return torch::mm(x.to(torch::kFloat) - t.mean, t.identity_basis.t());
}

torch::Tensor synth_truth_strengths(const SynthTruth& t, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  auto c = x.to(torch::kFloat) - t.mean;
  if (!t.honest()) return torch::mm(c, t.coefficients.t()) / t.attribute_scale;
  const int64_t A = t.num_attributes(), B = c.size(0);
  // The rotation angles from the identity coordinates; then coordinates of c on u and v ([B, 2A]). u and v are
  // orthogonal to U, so the identity part of c does not enter them.
  auto z = torch::mm(c, t.identity_basis.t()).to(torch::kDouble);
  auto theta = t.rotation_max * torch::tanh(torch::mm(z, t.rotation_weights.t().to(torch::kDouble)) / t.identity_scale);
  auto y = torch::mm(c, torch::cat({t.directions, t.rotation_directions}, 0).t()).to(torch::kDouble);  // [B, 2A]
  // d_a(z) = M(z) [u; v] with M [B, A, 2A] = [diag(cos t) | diag(sin t)].
  auto m = torch::cat({torch::diag_embed(torch::cos(theta)), torch::diag_embed(torch::sin(theta))}, 2);
  auto dc = torch::bmm(m, y.unsqueeze(2));                                                  // [B, A, 1]
  auto gram = torch::matmul(torch::matmul(m, t.basis_gram), m.transpose(1, 2));             // [B, A, A]
  auto s = torch::linalg_solve(gram, dc).squeeze(2) / t.attribute_scale;
  (void)B;
  return s.to(torch::kFloat);
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
  const bool honest = f.attribute_text("preset") == "honest";
  if (honest)
    for (const char* name : {"rotation_directions", "rotation_weights", "identity_basis", "region_bases", "thresholds"})
      if (!f.has_column(name))
        throw DataError(fmt::format("{}: ground-truth dataset '{}' of the honest preset is missing", path.string(), name));
  // The honest preset writes its numbers as attributes (its defaults differ from the config schema's).
  auto attr_number = [&](const std::string& key) {
    std::string text = f.attribute_text(key);
    try {
      size_t used = 0;
      double value = std::stod(text, &used);
      if (used == text.size()) return value;
    } catch (const std::exception&) {
    }
    throw DataError(fmt::format("{}: attribute {} is not a number ('{}')", path.string(), key, text));
  };
  double scale = honest ? attr_number("attribute_scale")
                        : truth_number(f, "attribute_scale", R"(mean \+ ([-+0-9.eE]+) \* sum)");
  double threshold = honest ? 0.0 : truth_number(f, "label_threshold", R"(labels = s > ([-+0-9.eE]+))");
  if (!(scale > 0)) throw DataError(fmt::format("{}: attribute_scale {} must be positive", path.string(), scale));
  auto region = f.read_array_i32("region_of_dim");
  if (int64_t(region.size()) != D)
    throw DataError(fmt::format("{}: region_of_dim has {} values for {} latent dims", path.string(), region.size(), D));
  SynthTruth t = synth_truth_make(floats(f.read_array_f32("directions"), {A, D}), floats(f.read_array_f32("mean"), {D}),
                                  longs(region), longs(f.read_array_i32("target_region")),
                                  longs(f.read_array_i32("leak_region")), scale, threshold);
  t.path = path;
  t.attribute_names = f.attribute_names();
  if (honest) {
    auto rw = f.read_array_f32("rotation_weights"), ib = f.read_array_f32("identity_basis"),
         rb = f.read_array_f32("region_bases"), th = f.read_array_f32("thresholds");
    const int64_t k = int64_t(rw.size()) / std::max<int64_t>(1, A);
    auto rb_shape = f.column_shape("region_bases");
    if (int64_t(rw.size()) != A * k || int64_t(ib.size()) != k * D || int64_t(th.size()) != A || rb_shape.size() < 2 ||
        int64_t(rb.size()) != rb_shape[0] * rb_shape[1] * D)
      throw DataError(fmt::format("{}: the honest preset's datasets do not fit {} attributes x {} dims", path.string(), A, D));
    synth_truth_set_honest(t, floats(f.read_array_f32("rotation_directions"), {A, D}), floats(rw, {A, k}),
                           floats(ib, {k, D}), floats(rb, {rb_shape[0], rb_shape[1], D}), floats(th, {A}),
                           attr_number("rotation_max"), attr_number("identity_scale"));
  }
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
