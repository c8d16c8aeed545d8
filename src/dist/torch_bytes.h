// torch_bytes.h — torch objects (modules, optimisers, tensors) to and from the byte strings that checkpoint files
// hold (CheckpointWriter::write_shared_file / Checkpoint::read_shared_file).
#pragma once
#include <torch/torch.h>

#include <sstream>
#include <string>

namespace s3e {

template <typename T>
std::string torch_to_bytes(T& object) {
  std::ostringstream out;
  torch::save(object, out);
  return out.str();
}

template <typename T>
void torch_from_bytes(T& object, const std::string& bytes) {
  std::istringstream in(bytes);
  torch::load(object, in);
}

}  // namespace s3e
