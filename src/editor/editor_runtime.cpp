#include "editor/editor_runtime.h"

#include <fmt/format.h>

#include <cmath>

#include "core/errors.h"
#include "dist/sha256.h"
#include "editor/editor_apply.h"
#include "editor/latent_classifier.h"

namespace fs = std::filesystem;

namespace s3e {

EditorRuntime::EditorRuntime(const fs::path& dir, const fs::path& classifier) : dir_(dir), bundle_(editor_load(dir)) {
  const EditorContext& ctx = bundle_.ctx;
  const std::string editor_h5 = (dir / "editor.h5").string();
  classifier_sha256_ = ctx.classifier_sha256;
  if (!classifier.empty()) {
    const std::string given = sha256_file(classifier);
    if (!ctx.classifier_sha256.empty() && given != ctx.classifier_sha256)
      throw DataError(fmt::format("{} was trained with the classifier of SHA-256 {} ({}), but {} has {}", editor_h5,
                                  ctx.classifier_sha256, ctx.classifier_path.empty() ? "path not recorded" : ctx.classifier_path,
                                  classifier.string(), given));
    classifier_sha256_ = given;
  }
  if (ctx.norm_mean.defined()) {
    mean_ = ctx.norm_mean;
    std_ = ctx.norm_std;
  } else {
    if (classifier.empty())
      throw UsageError(fmt::format("{} predates stored latent normalisation: give the classifier it was trained with "
                                   "(--classifier)", editor_h5));
    ClassifierBundle c = classifier_load(classifier);
    mean_ = c.mean;
    std_ = c.std;
  }
  int64_t dim = 1;
  for (int64_t s : ctx.latent_shape) dim *= s;
  if (mean_.dim() != 1 || mean_.size(0) != dim || std_.sizes() != mean_.sizes())
    throw DataError(fmt::format("{}: normalisation of {} dims for latents of {} dims", editor_h5, mean_.numel(), dim));
  bundle_.model->eval();
}

torch::Tensor EditorRuntime::group_mask() const {
  return spec().transform == "region_mlp" ? bundle_.model->group_mask : torch::Tensor();
}

int EditorRuntime::attribute_index(const std::string& name) const {
  const auto& names = attribute_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return int(i);
  std::string list;
  for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw UsageError(fmt::format("the editor {} has no attribute '{}'; it edits: {}", dir_.string(), name, list));
}

std::vector<EditStep> EditorRuntime::parse_recipe(const std::vector<std::string>& texts) const {
  std::vector<EditStep> steps;
  for (auto& text : texts) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
      throw UsageError(fmt::format("edit '{}': expected NAME=STRENGTH, e.g. smile=1.5", text));
    EditStep step;
    step.attribute = attribute_index(text.substr(0, eq));
    size_t used = 0;
    try {
      step.strength = std::stod(text.substr(eq + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() - eq - 1 || !std::isfinite(step.strength))
      throw UsageError(fmt::format("edit '{}': strength '{}' is not a number", text, text.substr(eq + 1)));
    steps.push_back(step);
  }
  return steps;
}

torch::Tensor EditorRuntime::edit_normalised(const torch::Tensor& z, const torch::Tensor& attribute,
                                             const torch::Tensor& g) const {
  return editor_apply(bundle_.model, bundle_.ctx, z, attribute, g.to(torch::kFloat));
}

torch::Tensor EditorRuntime::apply(const torch::Tensor& x, const torch::Tensor& attribute, const torch::Tensor& g) const {
  torch::NoGradGuard no_grad;
  auto z = (x - mean_) / std_;
  // x' = x + std * (z' - z): dims the editor leaves alone stay bit-identical (no denormalisation round trip).
  return x + (edit_normalised(z, attribute, g) - z) * std_;
}

torch::Tensor EditorRuntime::apply_recipe(const torch::Tensor& x, const std::vector<EditStep>& steps) const {
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  auto z = (x - mean_) / std_;
  auto edited = z;
  for (const EditStep& s : steps)
    edited = edit_normalised(edited, torch::full({n}, int64_t(s.attribute), torch::kLong),
                             torch::full({n}, s.strength, torch::kFloat));
  return x + (edited - z) * std_;
}

}  // namespace s3e
