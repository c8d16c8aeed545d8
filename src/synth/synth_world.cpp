#include "synth/synth_world.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/rng.h"
#include "store/celeba_attributes.h"
#include "store/store_schema.h"
#include "synth/synth_celeba.h"
#include "synth/synth_stats.h"

namespace s3e {

std::vector<int64_t> SynthSpec::latent_shape() const {
  return layers == 1 ? std::vector<int64_t>{channels} : std::vector<int64_t>{layers, channels};
}

// The honest preset's values of the keys both presets share, used where the key was left at its default.
constexpr int64_t k_honest_num_samples = 4000;
constexpr int64_t k_honest_num_regions = 7;
constexpr double k_honest_identity_scale = 4.0;

void synth_add_config(ConfigSchema& s) {
  s.add_choice("synth.preset", "additive", {"additive", "honest"},
               "world model: additive (linear, block regions, clean labels) or honest (docs/synth.md: identity "
               "subspace, rotated regions, overlapping state-dependent directions, CelebA prevalences, noisy proxy "
               "labels; its own defaults for num_samples 4000, num_regions 7, identity_scale 4)")
      .add_int("synth.num_samples", 20000, "identities (stills) or videos to generate", 1, 1e9)
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
      .add_real("synth.drift_sigma", 0.1, "std of the per-frame strength drift innovations", 0, 10)
      .add_int("synth.identity_dims", 16, "honest: dimension of the identity subspace", 1, 4096)
      .add_int("synth.region_dims", 48, "honest: dimension of each (rotated) region subspace", 5, 4096)
      .add_real("synth.partner_cosine", 0.45, "honest: cosine of an attribute's direction with its partner's", 0, 0.9)
      .add_real("synth.rotation_max", 0.6, "honest: largest identity-driven rotation of a direction (radians)", 0, 1.5)
      .add_real("synth.proxy_weight", 0.35, "honest: label_a = [s_a + proxy_weight * s_partner > t'_a]", 0, 2)
      .add_real("synth.label_noise", 0.1, "honest: share of positive labels flipped (as many negatives flipped "
                "to positive, so the prevalence holds)", 0, 0.5);
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
  s.preset = c.get_text("synth.preset");
  // A shared key left at its default takes the preset's value (so `--set synth.preset=honest` alone gives the
  // documented honest world); anything set in a file or on the command line wins.
  auto preset_int = [&](const char* key, int64_t honest_value) {
    return s.honest() && c.source_of(key) == "default" ? honest_value : c.get_int(key);
  };
  auto preset_real = [&](const char* key, double honest_value) {
    return s.honest() && c.source_of(key) == "default" ? honest_value : c.get_real(key);
  };
  s.seed = static_cast<uint64_t>(c.get_int("run.seed"));
  s.num_videos = preset_int("synth.num_samples", k_honest_num_samples);
  s.frames_per_video = c.get_int("synth.frames_per_video");
  s.layers = c.get_int("synth.layers");
  s.channels = c.get_int("synth.channels");
  s.edit_layers = c.get_int_list("synth.edit_layers");
  for (int l : s.edit_layers)
    if (l < 0 || l >= s.layers)
      throw UsageError(fmt::format("config key synth.edit_layers: layer {} is outside 0..{}", l, s.layers - 1));
  if (s.edit_layers.empty()) throw UsageError("config key synth.edit_layers: needs at least one layer");
  s.num_regions = preset_int("synth.num_regions", k_honest_num_regions);
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
  s.identity_scale = preset_real("synth.identity_scale", k_honest_identity_scale);
  s.mean_scale = c.get_real("synth.mean_scale");
  s.noise = c.get_real("synth.noise");
  s.label_threshold = c.get_real("synth.label_threshold");
  s.drift_rho = c.get_real("synth.drift_rho");
  s.drift_sigma = c.get_real("synth.drift_sigma");
  s.identity_dims = c.get_int("synth.identity_dims");
  s.region_dims = c.get_int("synth.region_dims");
  s.partner_cosine = c.get_real("synth.partner_cosine");
  s.rotation_max = c.get_real("synth.rotation_max");
  s.proxy_weight = c.get_real("synth.proxy_weight");
  s.label_noise = c.get_real("synth.label_noise");
  return s;
}

SynthWorld::SynthWorld(SynthSpec spec) : spec_(std::move(spec)) {
  if (spec_.honest()) {
    build_honest();
    return;
  }
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
  build_cholesky();

  mean_.resize(D);
  Rng rng(spec_.seed, rng_stream_tag("mean"), 0);
  for (int64_t d = 0; d < D; ++d) mean_[d] = static_cast<float>(spec_.mean_scale * rng.normal());
}

void SynthWorld::build_cholesky() {
  const int64_t A = spec_.num_attributes;
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
}

std::vector<double> SynthWorld::correlated_normals(Rng& rng) const {
  const int64_t A = spec_.num_attributes;
  std::vector<double> z(A), out(A, 0.0);
  for (auto& x : z) x = rng.normal();
  for (int64_t i = 0; i < A; ++i)
    for (int64_t k = 0; k <= i; ++k) out[i] += cholesky_[i * A + k] * z[k];
  return out;
}

void SynthWorld::generate_video(int64_t v, float* latents, float* labels, float* strengths, float* identity,
                                float* clean_labels) const {
  if (spec_.honest()) {
    generate_video_honest(v, latents, labels, strengths, identity, clean_labels);
    return;
  }
  const int64_t A = spec_.num_attributes, D = spec_.dim(), F = spec_.frames_per_video;
  Rng rng(spec_.seed, rng_stream_tag("video"), v);
  std::vector<double> base, drift(A, 0.0), innovation;
  base = correlated_normals(rng);
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
      innovation = correlated_normals(rng);
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
      if (clean_labels) clean_labels[f * A + a] = labels[f * A + a];
      const float* dir = &directions_[a * D];
      float amp = static_cast<float>(spec_.attribute_scale * s);
      for (int64_t d = 0; d < D; ++d) x[d] += amp * dir[d];
    }
  }
}

std::string SynthWorld::model_text() const {
  if (!spec_.honest())
    return fmt::format("x = mean + {} * sum_a s_a d_a + identity + N(0, {}^2); labels = s > {}", spec_.attribute_scale,
                       spec_.noise, spec_.label_threshold);
  return fmt::format(
      "honest: x = mean + U z + {} * sum_a s_a d_a(z) + N(0, {}^2), z ~ N(0, {}^2 I_{}), "
      "d_a(z) = cos t_a u_a + sin t_a v_a, t_a = {} tanh(<w_a, z> / {}); s ~ N(0, correlation); "
      "attribute present: s_a > thresholds_a; labels = [s_a + {} sign(rho) s_partner(a) > label_thresholds_a] "
      "flipped at rate {} of positives (and as many negatives)",
      spec_.attribute_scale, spec_.noise, spec_.identity_scale, spec_.identity_dims, spec_.rotation_max,
      spec_.identity_scale, spec_.proxy_weight, spec_.label_noise);
}

namespace {

double dot_d(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Removes from q its components on `rows` (orthonormal, n values each) and normalises it; false when nothing is
// left (q was in their span).
bool orthonormalise(double* q, const std::vector<std::vector<double>>& rows, int64_t n) {
  for (int pass = 0; pass < 2; ++pass)  // twice: classical Gram-Schmidt run again is orthogonal to machine precision
    for (auto& r : rows) {
      double d = dot_d(q, r.data(), n);
      for (int64_t i = 0; i < n; ++i) q[i] -= d * r[i];
    }
  double norm = std::sqrt(dot_d(q, q, n));
  if (norm < 1e-8) return false;
  for (int64_t i = 0; i < n; ++i) q[i] /= norm;
  return true;
}

// `count` orthonormal Gaussian vectors of length m.
std::vector<std::vector<double>> random_orthonormal(Rng& rng, int count, int64_t m) {
  std::vector<std::vector<double>> out;
  while (int(out.size()) < count) {
    std::vector<double> q(m);
    for (auto& x : q) x = rng.normal();
    if (orthonormalise(q.data(), out, m)) out.push_back(std::move(q));
  }
  return out;
}

}  // namespace

void SynthWorld::build_honest() {
  const int64_t A = spec_.num_attributes, D = spec_.dim(), C = spec_.channels, R = spec_.num_regions;
  const int64_t k = spec_.identity_dims, m = spec_.region_dims;
  std::vector<int64_t> editable;
  for (int l : spec_.edit_layers)
    for (int64_t ch = 0; ch < C; ++ch) editable.push_back(l * C + ch);
  const int64_t E = int64_t(editable.size());
  if (k + R * m > E)
    throw UsageError(fmt::format("synth (honest): identity_dims {} + num_regions {} x region_dims {} exceed the {} "
                                 "editable dims (synth.edit_layers x synth.channels)", k, R, m, E));
  if (k > D) throw UsageError("synth (honest): identity_dims exceeds the latent size");
  // No dim belongs to a region: regions are subspaces (region_bases), not blocks of dims.
  region_of_dim_.assign(D, -1);

  // Layout: CelebA's (docs/synth.md) for its 40 attributes in 7 regions, else round-robin regions, pairs (2k, 2k+1)
  // and the prevalence of the CelebA attribute of the same index (mod 40).
  const bool celeba = A == 40 && R == 7;
  target_region_.resize(A);
  leak_region_.resize(A);
  partner_.resize(A);
  prevalence_.resize(A);
  for (int64_t a = 0; a < A; ++a) {
    target_region_[a] = celeba ? celeba_region()[a] : int32_t(a % R);
    partner_[a] = celeba ? celeba_partner()[a] : ((a ^ 1) < A ? int32_t(a ^ 1) : -1);
    prevalence_[a] = celeba_prevalence()[a % 40];
  }
  for (int64_t a = 0; a < A; ++a) {
    int p = partner_[a];
    leak_region_[a] = p >= 0 && target_region_[p] != target_region_[a] ? target_region_[p] : -1;
  }

  // Identity subspace: k Gaussian vectors over all D dims, orthonormalised.
  std::vector<std::vector<double>> id_rows;
  {
    Rng rng(spec_.seed, rng_stream_tag("identity_basis"), 0);
    while (int64_t(id_rows.size()) < k) {
      std::vector<double> q(D);
      for (auto& x : q) x = rng.normal();
      if (orthonormalise(q.data(), id_rows, D)) id_rows.push_back(std::move(q));
    }
  }
  // Region subspaces live in the editable dims (every method can reach them) and are orthogonal to the identity
  // subspace: in editable coordinates, orthogonal to the identity rows' editable parts, and to each other.
  std::vector<std::vector<double>> taken;  // editable coordinates
  for (auto& row : id_rows) {
    std::vector<double> q(E);
    for (int64_t i = 0; i < E; ++i) q[i] = row[editable[i]];
    if (orthonormalise(q.data(), taken, E)) taken.push_back(std::move(q));
  }
  const size_t first_region_row = taken.size();
  for (int64_t r = 0; r < R; ++r) {
    Rng rng(spec_.seed, rng_stream_tag("region_basis"), r);
    int64_t made = 0;
    while (made < m) {
      std::vector<double> q(E);
      for (auto& x : q) x = rng.normal();
      if (orthonormalise(q.data(), taken, E)) taken.push_back(std::move(q)), ++made;
    }
  }
  auto region_row = [&](int64_t r, int64_t j) -> const std::vector<double>& { return taken[first_region_row + r * m + j]; };
  region_bases_.assign(R * m * D, 0.0f);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t i = 0; i < E; ++i) region_bases_[(r * m + j) * D + editable[i]] = float(region_row(r, j)[i]);
  identity_basis_.resize(k * D);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t d = 0; d < D; ++d) identity_basis_[j * D + d] = float(id_rows[j][d]);

  // Directions in region coordinates. For a pair (a, p): u_a = sqrt(1 - c) g_a + sqrt(c) q, u_p = sqrt(1 - c) g_p +
  // sqrt(c) q with g_a, g_p, q orthonormal (q split evenly over both regions when they differ), so cos(u_a, u_p) = c;
  // the rotation directions v_a, v_p are orthogonal to all of them, so cos(d_a(z), d_p(z)) = c cos t_a cos t_p.
  const double c = spec_.partner_cosine;
  std::vector<std::vector<double>> u(A, std::vector<double>(E, 0.0)), v(A, std::vector<double>(E, 0.0));
  auto add = [&](std::vector<double>& out, int64_t r, const std::vector<double>& coords, double weight) {
    for (int64_t j = 0; j < m; ++j) {
      const auto& row = region_row(r, j);
      double w = weight * coords[j];
      for (int64_t i = 0; i < E; ++i) out[i] += w * row[i];
    }
  };
  for (int64_t a = 0; a < A; ++a) {
    const int64_t p = partner_[a];
    if (p >= 0 && p < a) continue;  // made with its partner
    Rng rng(spec_.seed, rng_stream_tag("direction"), a);
    const int64_t ra = target_region_[a];
    if (p < 0) {
      auto g = random_orthonormal(rng, 2, m);
      add(u[a], ra, g[0], 1.0);
      add(v[a], ra, g[1], 1.0);
      continue;
    }
    const int64_t rp = target_region_[p];
    if (ra == rp) {
      auto g = random_orthonormal(rng, 5, m);  // g_a, g_p, q, v_a, v_p
      add(u[a], ra, g[0], std::sqrt(1 - c)), add(u[a], ra, g[2], std::sqrt(c));
      add(u[p], ra, g[1], std::sqrt(1 - c)), add(u[p], ra, g[2], std::sqrt(c));
      add(v[a], ra, g[3], 1.0), add(v[p], ra, g[4], 1.0);
    } else {
      auto ga = random_orthonormal(rng, 3, m), gp = random_orthonormal(rng, 3, m);  // g, q half, v per region
      for (int64_t x : {a, p}) {
        add(u[x], ra, ga[1], std::sqrt(c / 2));
        add(u[x], rp, gp[1], std::sqrt(c / 2));
      }
      add(u[a], ra, ga[0], std::sqrt(1 - c)), add(v[a], ra, ga[2], 1.0);
      add(u[p], rp, gp[0], std::sqrt(1 - c)), add(v[p], rp, gp[2], 1.0);
    }
  }
  directions_.assign(A * D, 0.0f);
  rotation_directions_.assign(A * D, 0.0f);
  for (int64_t a = 0; a < A; ++a)
    for (int64_t i = 0; i < E; ++i) {
      directions_[a * D + editable[i]] = float(u[a][i]);
      rotation_directions_[a * D + editable[i]] = float(v[a][i]);
    }
  rotation_weights_.resize(A * k);
  for (int64_t a = 0; a < A; ++a) {
    Rng rng(spec_.seed, rng_stream_tag("rotation"), a);
    std::vector<double> w(k);
    for (auto& x : w) x = rng.normal();
    double n = std::sqrt(dot_d(w.data(), w.data(), k));
    for (int64_t j = 0; j < k; ++j) rotation_weights_[a * k + j] = float(w[j] / n);
  }

  // Strengths: thresholds give the prevalences; correlations are CelebA's label correlations turned into those of
  // the Gaussian strengths (tetrachoric), completed to a positive definite matrix.
  thresholds_.resize(A);
  for (int64_t a = 0; a < A; ++a) thresholds_[a] = normal_quantile(1 - prevalence_[a]);
  correlation_ = spec_.correlation;
  if (correlation_.empty() && celeba) {
    std::vector<double> target(A * A, 0.0);
    std::vector<bool> fixed(A * A, false);
    for (auto& st : celeba_label_correlations()) {
      double rho = tetrachoric_rho(thresholds_[st.a], thresholds_[st.b], st.phi);
      target[st.a * A + st.b] = target[st.b * A + st.a] = rho;
      fixed[st.a * A + st.b] = fixed[st.b * A + st.a] = true;
    }
    correlation_ = correlation_complete(target, fixed, A);
  } else if (correlation_.empty()) {
    correlation_.assign(A * A, 0.0);
    for (int64_t a = 0; a < A; ++a) {
      correlation_[a * A + a] = 1.0;
      if (partner_[a] >= 0) correlation_[a * A + partner_[a]] = spec_.pair_correlation;
    }
  }
  build_cholesky();
  // The annotator leans on the partner in the direction of their correlation (a goatee says "male", makeup says
  // "not male"): the proxy s_a + w s_p, w = proxy_weight * sign(rho_ap), has variance 1 + w^2 + 2 w rho_ap; its
  // threshold keeps the prevalence.
  label_thresholds_.resize(A);
  proxy_weights_.assign(A, 0.0);
  for (int64_t a = 0; a < A; ++a) {
    int p = partner_[a];
    double rho = p >= 0 ? correlation_[a * A + p] : 0.0;
    double w = p >= 0 ? (rho < 0 ? -spec_.proxy_weight : spec_.proxy_weight) : 0.0;
    proxy_weights_[a] = w;
    label_thresholds_[a] = std::sqrt(1 + w * w + 2 * w * rho) * thresholds_[a];
  }

  mean_.resize(D);
  Rng rng(spec_.seed, rng_stream_tag("mean"), 0);
  for (int64_t d = 0; d < D; ++d) mean_[d] = static_cast<float>(spec_.mean_scale * rng.normal());
}

void SynthWorld::generate_video_honest(int64_t v, float* latents, float* labels, float* strengths, float* identity,
                                       float* clean_labels) const {
  const int64_t A = spec_.num_attributes, D = spec_.dim(), F = spec_.frames_per_video, k = spec_.identity_dims;
  Rng rng(spec_.seed, rng_stream_tag("video"), v);
  std::vector<double> base, drift(A, 0.0), innovation;
  base = correlated_normals(rng);
  // Identity z (fixed per video) and the directions it turns.
  std::vector<double> z(k), id(D, 0.0);
  for (auto& x : z) x = spec_.identity_scale * rng.normal();
  for (int64_t j = 0; j < k; ++j)
    for (int64_t d = 0; d < D; ++d) id[d] += z[j] * identity_basis_[j * D + d];
  std::vector<float> dir(A * D);
  for (int64_t a = 0; a < A; ++a) {
    double wz = 0;
    for (int64_t j = 0; j < k; ++j) wz += rotation_weights_[a * k + j] * z[j];
    const double t = spec_.rotation_max * std::tanh(wz / spec_.identity_scale);
    const double ct = std::cos(t), st = std::sin(t);
    for (int64_t d = 0; d < D; ++d)
      dir[a * D + d] = float(ct * directions_[a * D + d] + st * rotation_directions_[a * D + d]);
  }
  for (int64_t f = 0; f < F; ++f) {
    if (f > 0) {
      innovation = correlated_normals(rng);
      for (int64_t a = 0; a < A; ++a) drift[a] = spec_.drift_rho * drift[a] + spec_.drift_sigma * innovation[a];
    }
    float* x = latents + f * D;
    for (int64_t d = 0; d < D; ++d) {
      x[d] = static_cast<float>(mean_[d] + id[d] + spec_.noise * rng.normal());
      identity[f * D + d] = static_cast<float>(id[d]);
    }
    std::vector<double> s(A);
    for (int64_t a = 0; a < A; ++a) s[a] = base[a] + drift[a];
    for (int64_t a = 0; a < A; ++a) {
      strengths[f * A + a] = static_cast<float>(s[a]);
      const float amp = static_cast<float>(spec_.attribute_scale * s[a]);
      const float* d_a = &dir[a * D];
      for (int64_t d = 0; d < D; ++d) x[d] += amp * d_a[d];
      // The annotator's label leans on the partner, then is flipped: positives at rate label_noise, negatives at
      // the rate that flips as many of them back (rate * p / (1 - p)), so the prevalence stays p.
      const int p = partner_[a];
      const double proxy = s[a] + (p >= 0 ? proxy_weights_[a] * s[p] : 0.0);
      const bool clean = proxy > label_thresholds_[a];
      const double flip = clean ? spec_.label_noise : spec_.label_noise * prevalence_[a] / (1 - prevalence_[a]);
      const bool flipped = rng.uniform() < flip;
      labels[f * A + a] = (clean != flipped) ? 1.0f : 0.0f;
      if (clean_labels) clean_labels[f * A + a] = clean ? 1.0f : 0.0f;
    }
  }
}

}  // namespace s3e
