// sampler.h — which samples each rank trains on. One global permutation per epoch, drawn from (seed, epoch) with
// s3e::Rng, so every rank computes the same one without communicating. Global step s covers permutation positions
// [s * B * W, (s + 1) * B * W) (B = per-rank batch, W = world size); rank r takes the r-th block of B of them.
// The remainder of an epoch is padded (wrapping around the permutation; padded entries sit at the end of a
// batch and are counted by `valid`) or dropped, explicitly; either way every rank runs the same number of steps,
// which every collective in the step requires. The state (epoch, consumed samples) is the same on every rank and
// a resume continues with exactly the samples that were left.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

enum class SamplerRemainder { pad, drop };

struct SamplerOptions {
  int64_t num_samples = 0;
  int64_t batch_size = 1;  // per rank
  uint64_t seed = 0;
  bool shuffle = true;
  SamplerRemainder remainder = SamplerRemainder::drop;
};

struct SamplerState {
  int64_t epoch = 0;
  int64_t consumed = 0;  // global permutation positions consumed in this epoch (a multiple of B * W)
};

struct SamplerBatch {
  std::vector<int64_t> indices;  // sample indices for this rank, batch_size of them
  int64_t valid = 0;             // the first `valid` are real; the rest are padding repeats
};

class DistributedSampler {
 public:
  DistributedSampler(SamplerOptions options, int rank, int world_size);

  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  bool epoch_done() const { return state_.consumed >= steps_per_epoch_ * global_batch(); }
  // The next batch of this rank; throws UsageError when the epoch is done (call next_epoch()).
  SamplerBatch next();
  void next_epoch();

  const SamplerState& state() const { return state_; }
  // Restores a saved state; throws DataError when it does not fit these options (wrong world size, batch).
  void restore(const SamplerState& state);
  std::string state_to_json() const;
  static SamplerState state_from_json(const std::string& text);

  int64_t global_batch() const { return options_.batch_size * world_size_; }

 private:
  void build_permutation();
  SamplerOptions options_;
  int rank_, world_size_;
  int64_t steps_per_epoch_ = 0;
  SamplerState state_;
  std::vector<int64_t> permutation_;  // of the current epoch
};

// The permutation of epoch `epoch` (identity when shuffle is off): Fisher-Yates driven by Rng(seed, tag, epoch).
std::vector<int64_t> sampler_permutation(int64_t num_samples, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace s3e
