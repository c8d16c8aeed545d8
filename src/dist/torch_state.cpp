#include "dist/torch_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstring>
#include <mutex>

#include "core/errors.h"

namespace s3e {

std::string torch_rng_state_save() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  at::Tensor state = generator.get_state();
  return std::string(static_cast<const char*>(state.data_ptr()), static_cast<size_t>(state.numel()));
}

void torch_rng_state_restore(const std::string& bytes) {
  auto generator = at::detail::getDefaultCPUGenerator();
  at::Tensor state = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kByte);
  std::memcpy(state.data_ptr(), bytes.data(), bytes.size());
  std::lock_guard<std::mutex> lock(generator.mutex());
  try {
    generator.set_state(state);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("torch RNG state of {} bytes cannot be restored: {}", bytes.size(), e.what_without_backtrace()));
  }
}

}  // namespace s3e
