// torch_state.h — the torch state a checkpoint must carry besides weights: the default CPU generator (dropout,
// randperm, init), saved per rank because each rank draws different random numbers.
#pragma once
#include <string>

namespace s3e {

std::string torch_rng_state_save();
// Throws DataError when `bytes` is not a state of this generator.
void torch_rng_state_restore(const std::string& bytes);

}  // namespace s3e
