// synth_world.h — the synthetic latent world (docs/synth.md): latents of shape [layers, channels] (W+-like
// 18x512, or flat with layers = 1) built as  x = mean + sum_a scale * s_a * d_a + identity + noise,
// with R facial regions owning blocks of channels in the editable layers, A attributes with ground-truth unit
// directions d_a supported on their target region plus a small leak into a correlated attribute's region,
// strengths s ~ N(0, Sigma) with a configurable correlation matrix, identity orthogonal to every direction, and
// optional videos (fixed identity, AR(1) drift of the strengths per frame). Labels are s_a > threshold.
// Everything is a pure function of (seed, video index), so any rank count generates the same data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace s3e {

struct SynthSpec {
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

  // All frames of video `v`: latents [F, D], labels [F, A], strengths [F, A], identity [F, D].
  void generate_video(int64_t v, float* latents, float* labels, float* strengths, float* identity) const;

 private:
  SynthSpec spec_;
  std::vector<float> directions_, mean_;
  std::vector<int32_t> region_of_dim_, target_region_, leak_region_;
  std::vector<double> correlation_, cholesky_;   // lower triangular, row major
  std::vector<double> orthonormal_;               // [A, D] orthonormal basis of the directions
};

}  // namespace s3e
