// synth_world.h — the synthetic latent world (docs/synth.md): latents of shape [layers, channels] (W+-like
// 18x512, or flat with layers = 1) built as  x = mean + sum_a scale * s_a * d_a + identity + noise,
// with R facial regions owning blocks of channels in the editable layers, A attributes with ground-truth unit
// directions d_a supported on their target region plus a small leak into a correlated attribute's region,
// strengths s ~ N(0, Sigma) with a configurable correlation matrix, identity orthogonal to every direction, and
// optional videos (fixed identity, AR(1) drift of the strengths per frame). Labels are s_a > threshold.
// Everything is a pure function of (seed, video index), so any rank count generates the same data.
//
// Two models (synth.preset): `additive` (the above, the default) and `honest` (docs/synth.md, "The honest
// preset"): a low-dimensional identity subspace, R region subspaces that are random rotations inside the editable
// dims (not blocks of dims), partner directions that overlap (cosine synth.partner_cosine), directions rotated by a
// function of the identity (d_a(z) = cos t_a(z) u_a + sin t_a(z) v_a, t_a(z) = rotation_max tanh(<w_a, z> /
// identity_scale)), CelebA prevalences and label correlations, and labels that are noisy proxies
// ([s_a + proxy_weight sign(rho) s_partner > t'_a], then flipped at rate label_noise, keeping the prevalence).
//     x = mean + U z + attribute_scale * sum_a s_a d_a(z) + noise
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/rng.h"

namespace s3e {

struct SynthSpec {
  std::string preset = "additive";     // "additive" | "honest"
  uint64_t seed = 1234;
  int64_t layers = 18, channels = 512;
  std::vector<int> edit_layers;        // layers the attribute directions live in (Latent Transformer edits 0-10)
  int64_t num_regions = 5, num_attributes = 40;
  std::vector<std::string> attribute_names;
  double pair_correlation = 0.5;       // correlation of attribute pairs (0,1), (2,3), ...
  std::vector<double> correlation;     // A x A, overrides pair_correlation when given (from a CSV file)
  double leak = 0.2;                   // norm of a direction's leak relative to its main part
  double attribute_scale = 3.0;        // latent distance of one unit of strength
  double identity_scale = 1.0;         // per-dim std of the identity component (before projection)
  double mean_scale = 0.5;             // per-dim std of the fixed mean latent
  double noise = 0.05;                 // per-dim std of per-frame noise
  double label_threshold = 0.0;
  int64_t num_videos = 20000, frames_per_video = 1;
  double drift_rho = 0.9, drift_sigma = 0.1;  // AR(1) drift of strengths across frames
  // honest preset only
  int64_t identity_dims = 16;          // dimension of the identity subspace
  int64_t region_dims = 48;            // dimension of each region subspace
  double partner_cosine = 0.45;        // cos(u_a, u_partner)
  double rotation_max = 0.6;           // radians: the largest identity-driven rotation of a direction
  double proxy_weight = 0.35;          // label_a = [s_a + proxy_weight * s_partner > t'_a]
  double label_noise = 0.1;            // share of positive labels flipped (as many negatives flipped back)
  bool honest() const { return preset == "honest"; }
  int64_t dim() const { return layers * channels; }
  std::vector<int64_t> latent_shape() const;
};

// Adds the synth.* keys (with documented defaults) to a schema.
void synth_add_config(ConfigSchema& schema);
SynthSpec synth_spec_from_config(const Config& config);

class SynthWorld {
 public:
  explicit SynthWorld(SynthSpec spec);

  const SynthSpec& spec() const { return spec_; }
  const std::vector<float>& directions() const { return directions_; }     // [A, D], unit norm
  const std::vector<int32_t>& region_of_dim() const { return region_of_dim_; }  // [D], -1 = no region
  const std::vector<int32_t>& target_region() const { return target_region_; }  // [A]
  const std::vector<int32_t>& leak_region() const { return leak_region_; }      // [A]
  const std::vector<double>& correlation() const { return correlation_; }       // [A, A]
  const std::vector<float>& mean() const { return mean_; }                      // [D]
  // Honest preset (empty for additive): identity basis [k, D] (orthonormal rows), rotation directions v_a [A, D],
  // rotation weights w_a [A, k] (unit rows), region bases [R, m, D] (orthonormal rows, mutually orthogonal,
  // orthogonal to the identity basis), each attribute's partner [A] (-1 = none), the thresholds of the true
  // attribute [A] (s_a > threshold: the prevalence) and of its proxy label [A], and the prevalences [A].
  const std::vector<float>& identity_basis() const { return identity_basis_; }
  const std::vector<float>& rotation_directions() const { return rotation_directions_; }
  const std::vector<float>& rotation_weights() const { return rotation_weights_; }
  const std::vector<float>& region_bases() const { return region_bases_; }
  const std::vector<int32_t>& partner() const { return partner_; }
  const std::vector<double>& thresholds() const { return thresholds_; }
  const std::vector<double>& label_thresholds() const { return label_thresholds_; }
  const std::vector<double>& prevalence() const { return prevalence_; }
  const std::vector<double>& proxy_weights() const { return proxy_weights_; }  // [A], +-proxy_weight or 0
  // The generative formula in words (the truth file's `model` attribute).
  std::string model_text() const;

  // All frames of video `v`: latents [F, D], labels [F, A], strengths [F, A], identity [F, D]; `clean_labels`
  // [F, A] (optional): the honest preset's proxy labels before the flips (the additive preset's labels).
  void generate_video(int64_t v, float* latents, float* labels, float* strengths, float* identity,
                      float* clean_labels = nullptr) const;

 private:
  void build_honest();
  // A = num_attributes correlated standard normals (Cholesky factor of the correlation) drawn from `rng`.
  std::vector<double> correlated_normals(Rng& rng) const;
  void generate_video_honest(int64_t v, float* latents, float* labels, float* strengths, float* identity,
                             float* clean_labels) const;
  void build_cholesky();
  std::vector<float> identity_basis_, rotation_directions_, rotation_weights_, region_bases_;
  std::vector<int32_t> partner_;
  std::vector<double> thresholds_, label_thresholds_, prevalence_, proxy_weights_;
  SynthSpec spec_;
  std::vector<float> directions_, mean_;
  std::vector<int32_t> region_of_dim_, target_region_, leak_region_;
  std::vector<double> correlation_, cholesky_;   // lower triangular, row major
  std::vector<double> orthonormal_;               // [A, D] orthonormal basis of the directions
};

}  // namespace s3e
