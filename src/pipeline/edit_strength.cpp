#include "pipeline/edit_strength.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace s3e {
namespace {

// Mean change of measure column `m` from x to y (rows [n, D]).
double mean_change(const Backbone& backbone, const torch::Tensor& x, const torch::Tensor& y, int m) {
  const int64_t n = x.size(0), A = int64_t(backbone.info().attribute_names.size());
  auto xc = x.contiguous(), yc = y.contiguous();
  const std::vector<float> mx = backbone.measure(xc.data_ptr<float>(), n), my = backbone.measure(yc.data_ptr<float>(), n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(my[i * A + m]) - double(mx[i * A + m]);
  return sum / double(n);
}

}  // namespace

std::vector<StrengthStep> strength_steps_parse(const std::vector<std::string>& texts, const EditorRuntime& editor,
                                               const Backbone& backbone, const std::string& units) {
  if (units != "measure" && units != "editor")
    throw UsageError(fmt::format("edit.units = '{}': expected measure or editor", units));
  const std::vector<EditStep> parsed = editor.parse_recipe(texts);
  const auto& names = backbone.info().attribute_names;
  std::vector<StrengthStep> steps;
  for (size_t i = 0; i < parsed.size(); ++i) {
    StrengthStep s;
    s.attribute = parsed[i].attribute;
    s.name = editor.attribute_names()[size_t(s.attribute)];
    s.target = parsed[i].strength;
    if (backbone.has_measures()) {
      auto it = std::find(names.begin(), names.end(), s.name);
      if (it != names.end()) s.measure = int(it - names.begin());
    }
    if (units == "measure" && s.measure < 0)
      throw UsageError(fmt::format("edit '{}': the backbone '{}' does not measure '{}', so its strength cannot be in "
                                   "measure units; set edit.units = editor (the editor's own strength)",
                                   texts[i], backbone.info().name, s.name));
    steps.push_back(s);
  }
  return steps;
}

torch::Tensor strength_apply_track(const EditorRuntime& editor, const Backbone& backbone, const torch::Tensor& x,
                                   const std::vector<StrengthStep>& steps, const StrengthOptions& o,
                                   std::vector<CalibratedStep>* out) {
  torch::NoGradGuard no_grad;
  out->assign(steps.size(), {});
  torch::Tensor current = x.to(torch::kFloat).contiguous();
  const int64_t n = current.size(0);
  if (n == 0) return current;
  for (size_t k = 0; k < steps.size(); ++k) {
    const StrengthStep& s = steps[k];
    CalibratedStep& c = (*out)[k];
    const auto attribute = torch::full({n}, s.attribute, torch::kLong);
    auto edit = [&](double g) { return editor.apply(current, attribute, torch::full({n}, g, torch::kFloat)); };
    if (o.units == "editor" || s.target == 0) {
      c.g = s.target;
      torch::Tensor y = edit(c.g);
      c.achieved = s.measure >= 0 ? mean_change(backbone, current, y, s.measure) : std::nan("");
      current = y;
      continue;
    }
    // Secant iterations on f(g) = mean measure change - target, from f(0) = -target and a first step of 1 in the
    // asked direction: the edit is monotone in g for every editor here, and nearly linear for small g.
    double g0 = 0, f0 = -s.target, g1 = s.target > 0 ? 1 : -1;
    torch::Tensor y = edit(g1);
    double f1 = mean_change(backbone, current, y, s.measure) - s.target;
    c.iterations = 1;
    while (std::abs(f1) > o.tolerance * std::abs(s.target) && c.iterations < o.iterations) {
      if (f1 == f0) break;
      double g2 = g1 - f1 * (g1 - g0) / (f1 - f0);
      if (!std::isfinite(g2) || g2 * s.target <= 0) break;  // no progress towards the target: reported below
      c.capped = std::abs(g2) >= o.max_strength;
      if (c.capped) g2 = std::copysign(o.max_strength, g2);
      g0 = g1, f0 = f1, g1 = g2;
      y = edit(g1);
      f1 = mean_change(backbone, current, y, s.measure) - s.target;
      ++c.iterations;
      if (c.capped && f1 * s.target < 0) break;  // even the largest strength falls short
    }
    c.g = g1;
    c.achieved = f1 + s.target;
    if (c.achieved * s.target <= 0)
      throw DataError(fmt::format("edit {}={:+g}: the editor {} does not move the '{}' measure that way on this face "
                                  "(mean change {:+.4g} at strength {:+g})", s.name, s.target, editor.dir().string(),
                                  s.name, c.achieved, c.g));
    current = y;
  }
  return current;
}

}  // namespace s3e
