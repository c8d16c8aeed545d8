#include "dist/sampler.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <numeric>

#include "core/errors.h"
#include "core/rng.h"

namespace s3e {

std::vector<int64_t> sampler_permutation(int64_t num_samples, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> perm(static_cast<size_t>(num_samples));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  if (!shuffle) return perm;
  Rng rng(seed, rng_stream_tag("sampler"), static_cast<uint64_t>(epoch));
  for (int64_t i = num_samples - 1; i > 0; --i)
    std::swap(perm[i], perm[rng.below(static_cast<uint64_t>(i + 1))]);
  return perm;
}

DistributedSampler::DistributedSampler(SamplerOptions options, int rank, int world_size)
    : options_(options), rank_(rank), world_size_(world_size) {
  if (options_.num_samples < 1) throw UsageError("sampler: the data set is empty");
  if (options_.batch_size < 1) throw UsageError(fmt::format("sampler: batch size {} < 1", options_.batch_size));
  int64_t global = global_batch();
  if (options_.remainder == SamplerRemainder::drop) {
    steps_per_epoch_ = options_.num_samples / global;
    if (steps_per_epoch_ == 0)
      throw UsageError(fmt::format("sampler: {} samples do not fill one global batch of {} ({} ranks x {}) with "
                                   "remainder=drop; use pad or a smaller batch",
                                   options_.num_samples, global, world_size_, options_.batch_size));
  } else {
    steps_per_epoch_ = (options_.num_samples + global - 1) / global;
  }
  build_permutation();
}

void DistributedSampler::build_permutation() {
  permutation_ = sampler_permutation(options_.num_samples, options_.seed, state_.epoch, options_.shuffle);
}

SamplerBatch DistributedSampler::next() {
  if (epoch_done()) throw UsageError(fmt::format("sampler: epoch {} is done; call next_epoch()", state_.epoch));
  SamplerBatch batch;
  int64_t begin = state_.consumed + rank_ * options_.batch_size;
  for (int64_t k = 0; k < options_.batch_size; ++k) {
    int64_t position = begin + k;
    // Padding wraps around the permutation (several times over if the data set is smaller than a global batch).
    batch.indices.push_back(permutation_[static_cast<size_t>(position % options_.num_samples)]);
    if (position < options_.num_samples) ++batch.valid;
  }
  state_.consumed += global_batch();
  return batch;
}

void DistributedSampler::next_epoch() {
  ++state_.epoch;
  state_.consumed = 0;
  build_permutation();
}

void DistributedSampler::restore(const SamplerState& state) {
  if (state.epoch < 0 || state.consumed < 0 || state.consumed % global_batch() != 0 ||
      state.consumed > steps_per_epoch_ * global_batch())
    throw DataError(fmt::format("sampler state (epoch {}, consumed {}) does not fit a global batch of {} ({} ranks x "
                                "{}) over {} samples",
                                state.epoch, state.consumed, global_batch(), world_size_, options_.batch_size,
                                options_.num_samples));
  bool new_epoch = state.epoch != state_.epoch;
  state_ = state;
  if (new_epoch) build_permutation();
}

std::string DistributedSampler::state_to_json() const {
  return nlohmann::json{{"epoch", state_.epoch}, {"consumed", state_.consumed}}.dump();
}

SamplerState DistributedSampler::state_from_json(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    return SamplerState{j.at("epoch").get<int64_t>(), j.at("consumed").get<int64_t>()};
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("sampler state is not valid: {}", e.what()));
  }
}

}  // namespace s3e
