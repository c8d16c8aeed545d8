#include "synth/synth_world.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/rng.h"
#include "store/celeba_attributes.h"
#include "store/store_schema.h"

namespace s3e {

std::vector<int64_t> SynthSpec::latent_shape() const {
  return layers == 1 ? std::vector<int64_t>{channels} : std::vector<int64_t>{layers, channels};
}

void synth_add_config(ConfigSchema& s) {
  s.add_int("synth.num_samples", 20000, "identities (stills) or videos to generate", 1, 1e9)
      .add_int("synth.frames_per_video", 1, "frames per video (1 = stills; >1 adds AR(1) drift per frame)", 1, 1e6)
      .add_int("synth.layers", 18, "latent layers (18 = StyleGAN W+; 1 = flat latent)", 1, 64)
      .add_int("synth.channels", 512, "channels per layer", 2, 4096)
      .add_text("synth.edit_layers", "0-10", "layers the attribute directions live in (Latent Transformer edits 0-10)")
      .add_int("synth.num_regions", 5, "facial regions; region r owns channel block r of every edit layer", 1, 64)
      .add_int("synth.num_attributes", 40, "attributes (40 uses the CelebA names)", 1, 1000)
      .add_real("synth.pair_correlation", 0.5, "correlation of attribute pairs (0,1), (2,3), ...", -0.95, 0.95)
      .add_text("synth.correlation_file", "", "CSV with an A x A correlation matrix (overrides pair_correlation)")
      .add_real("synth.leak", 0.2, "norm of each direction's leak into its partner's region, relative to 1", 0, 1)
      .add_real("synth.attribute_scale", 3.0, "latent distance of one unit of attribute strength", 0, 1e3)
      .add_real("synth.identity_scale", 1.0, "per-dim std of the identity component", 0, 1e3)
      .add_real("synth.mean_scale", 0.5, "per-dim std of the fixed mean latent", 0, 1e3)
      .add_real("synth.noise", 0.05, "per-dim std of per-frame noise", 0, 1e3)
      .add_real("synth.label_threshold", 0.0, "label = strength > threshold", -10, 10)
      .add_real("synth.drift_rho", 0.9, "AR(1) coefficient of the per-frame strength drift", 0, 0.9999)
      .add_real("synth.drift_sigma", 0.1, "std of the per-frame strength drift innovations", 0, 10);
}

namespace {
std::vector<double> read_correlation_csv(const std::string& file, int64_t a) {
  std::ifstream in(file);
  if (!in) throw UsageError(fmt::format("synth.correlation_file {} cannot be read", file));
  std::vector<double> m;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      try {
        m.push_back(std::stod(cell));
      } catch (...) {
        throw DataError(fmt::format("{}: '{}' is not a number", file, cell));
      }
    }
  }
  if (static_cast<int64_t>(m.size()) != a * a)
    throw DataError(fmt::format("{}: holds {} numbers, expected {}x{} = {}", file, m.size(), a, a, a * a));
  return m;
}
}  // namespace

SynthSpec synth_spec_from_config(const Config& c) {
  SynthSpec s;
  s.seed = static_cast<uint64_t>(c.get_int("run.seed"));
  s.num_videos = c.get_int("synth.num_samples");
  s.frames_per_video = c.get_int("synth.frames_per_video");
  s.layers = c.get_int("synth.layers");
  s.channels = c.get_int("synth.channels");
  s.edit_layers = c.get_int_list("synth.edit_layers");
  for (int l : s.edit_layers)
    if (l < 0 || l >= s.layers)
      throw UsageError(fmt::format("config key synth.edit_layers: layer {} is outside 0..{}", l, s.layers - 1));
  if (s.edit_layers.empty()) throw UsageError("config key synth.edit_layers: needs at least one layer");
  s.num_regions = c.get_int("synth.num_regions");
  if (s.num_regions > s.channels)
    throw UsageError(fmt::format("config key synth.num_regions = {} exceeds synth.channels = {}", s.num_regions, s.channels));
  s.num_attributes = c.get_int("synth.num_attributes");
  if (s.num_attributes == static_cast<int64_t>(celeba_attribute_names().size())) {
    s.attribute_names = celeba_attribute_names();
  } else {
    for (int64_t a = 0; a < s.num_attributes; ++a) s.attribute_names.push_back(fmt::format("attr_{:02d}", a));
  }
  s.pair_correlation = c.get_real("synth.pair_correlation");
  if (!c.get_text("synth.correlation_file").empty())
    s.correlation = read_correlation_csv(c.get_text("synth.correlation_file"), s.num_attributes);
  s.leak = c.get_real("synth.leak");
  s.attribute_scale = c.get_real("synth.attribute_scale");
  s.identity_scale = c.get_real("synth.identity_scale");
  s.mean_scale = c.get_real("synth.mean_scale");
  s.noise = c.get_real("synth.noise");
  s.label_threshold = c.get_real("synth.label_threshold");
  s.drift_rho = c.get_real("synth.drift_rho");
  s.drift_sigma = c.get_real("synth.drift_sigma");
  return s;
}

SynthWorld::SynthWorld(SynthSpec spec) : spec_(std::move(spec)) {
  const int64_t A = spec_.num_attributes, D = spec_.dim(), C = spec_.channels, R = spec_.num_regions;
  // Regions: region r owns channels [r*C/R, (r+1)*C/R) of every edit layer; other layers belong to no region.
  region_of_dim_.assign(D, -1);
  for (int l : spec_.edit_layers)
    for (int64_t ch = 0; ch < C; ++ch) region_of_dim_[l * C + ch] = static_cast<int32_t>(ch * R / C);

  // Attribute a targets region a mod R; its leak goes to the region of its correlated partner (a xor 1), or the
  // next region when the partner shares its region.
  target_region_.resize(A);
  leak_region_.resize(A);
  for (int64_t a = 0; a < A; ++a) target_region_[a] = static_cast<int32_t>(a % R);
  for (int64_t a = 0; a < A; ++a) {
    int64_t partner = (a ^ 1) < A ? (a ^ 1) : a;
    int32_t r = target_region_[partner];
    leak_region_[a] = (r == target_region_[a]) ? static_cast<int32_t>((target_region_[a] + 1) % R) : r;
  }

  // Directions: Gaussian on the target region (unit norm) + leak * Gaussian on the leak region (unit norm).
  directions_.assign(A * D, 0.0f);
  for (int64_t a = 0; a < A; ++a) {
    Rng rng(spec_.seed, rng_stream_tag("direction"), a);
    std::vector<double> main(D, 0.0), leak(D, 0.0);
    double main_norm = 0, leak_norm = 0;
    for (int64_t d = 0; d < D; ++d) {
      if (region_of_dim_[d] < 0) continue;
      double g = rng.normal();
      if (region_of_dim_[d] == target_region_[a]) main[d] = g, main_norm += g * g;
      else if (region_of_dim_[d] == leak_region_[a] && R > 1) leak[d] = g, leak_norm += g * g;
    }
    main_norm = std::sqrt(main_norm);
    leak_norm = std::sqrt(std::max(leak_norm, 1e-30));
    double total = 0;
    std::vector<double> dir(D);
    for (int64_t d = 0; d < D; ++d) {
      dir[d] = main[d] / main_norm + (R > 1 ? spec_.leak * leak[d] / leak_norm : 0.0);
      total += dir[d] * dir[d];
    }
    total = std::sqrt(total);
    for (int64_t d = 0; d < D; ++d) directions_[a * D + d] = static_cast<float>(dir[d] / total);
  }

  // Orthonormal basis of the directions (modified Gram-Schmidt) for the identity projection.
  orthonormal_.assign(A * D, 0.0);
  for (int64_t a = 0; a < A; ++a) {
    double* q = &orthonormal_[a * D];
    for (int64_t d = 0; d < D; ++d) q[d] = directions_[a * D + d];
    for (int64_t b = 0; b < a; ++b) {
      const double* p = &orthonormal_[b * D];
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += q[d] * p[d];
      for (int64_t d = 0; d < D; ++d) q[d] -= dot * p[d];
    }
    double n = 0;
    for (int64_t d = 0; d < D; ++d) n += q[d] * q[d];
    n = std::sqrt(n);
    if (n < 1e-8) throw UsageError("synth: attribute directions are linearly dependent; use more channels or fewer attributes");
    for (int64_t d = 0; d < D; ++d) q[d] /= n;
  }

  // Correlation and its Cholesky factor.
  correlation_ = spec_.correlation;
  if (correlation_.empty()) {
    correlation_.assign(A * A, 0.0);
    for (int64_t a = 0; a < A; ++a) {
      correlation_[a * A + a] = 1.0;
      int64_t partner = a ^ 1;
      if (partner < A) correlation_[a * A + partner] = spec_.pair_correlation;
    }
  }
  cholesky_.assign(A * A, 0.0);
  for (int64_t i = 0; i < A; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double sum = correlation_[i * A + j];
      for (int64_t k = 0; k < j; ++k) sum -= cholesky_[i * A + k] * cholesky_[j * A + k];
      if (i == j) {
        if (sum <= 1e-12 || std::fabs(correlation_[i * A + j] - correlation_[j * A + i]) > 1e-9)
          throw UsageError("synth: the attribute correlation matrix is not symmetric positive definite");
        cholesky_[i * A + i] = std::sqrt(sum);
      } else {
        cholesky_[i * A + j] = sum / cholesky_[j * A + j];
      }
    }

  mean_.resize(D);
  Rng rng(spec_.seed, rng_stream_tag("mean"), 0);
  for (int64_t d = 0; d < D; ++d) mean_[d] = static_cast<float>(spec_.mean_scale * rng.normal());
}

void SynthWorld::generate_video(int64_t v, float* latents, float* labels, float* strengths, float* identity) const {
  const int64_t A = spec_.num_attributes, D = spec_.dim(), F = spec_.frames_per_video;
  Rng rng(spec_.seed, rng_stream_tag("video"), v);
  auto correlated = [&](std::vector<double>& out) {
    std::vector<double> z(A);
    for (auto& x : z) x = rng.normal();
    out.assign(A, 0.0);
    for (int64_t i = 0; i < A; ++i)
      for (int64_t k = 0; k <= i; ++k) out[i] += cholesky_[i * A + k] * z[k];
  };
  std::vector<double> base, drift(A, 0.0), innovation;
  correlated(base);
  // Identity: Gaussian, minus its projection on the attribute directions.
  std::vector<double> id(D);
  for (auto& x : id) x = spec_.identity_scale * rng.normal();
  for (int64_t a = 0; a < A; ++a) {
    const double* q = &orthonormal_[a * D];
    double dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += id[d] * q[d];
    for (int64_t d = 0; d < D; ++d) id[d] -= dot * q[d];
  }
  for (int64_t f = 0; f < F; ++f) {
    if (f > 0) {
      correlated(innovation);
      for (int64_t a = 0; a < A; ++a) drift[a] = spec_.drift_rho * drift[a] + spec_.drift_sigma * innovation[a];
    }
    float* x = latents + f * D;
    for (int64_t d = 0; d < D; ++d) {
      x[d] = static_cast<float>(mean_[d] + id[d] + spec_.noise * rng.normal());
      identity[f * D + d] = static_cast<float>(id[d]);
    }
    for (int64_t a = 0; a < A; ++a) {
      double s = base[a] + drift[a];
      strengths[f * A + a] = static_cast<float>(s);
      labels[f * A + a] = s > spec_.label_threshold ? 1.0f : 0.0f;
      const float* dir = &directions_[a * D];
      float amp = static_cast<float>(spec_.attribute_scale * s);
      for (int64_t d = 0; d < D; ++d) x[d] += amp * dir[d];
    }
  }
}

}  // namespace s3e
