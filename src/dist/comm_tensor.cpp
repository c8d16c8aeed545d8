#include "dist/comm_tensor.h"

#include <fmt/format.h>

#include <map>

#include "core/errors.h"

namespace s3e {

namespace {

// The buffer a collective may work on: the tensor itself when contiguous and on the backend's device kind.
torch::Tensor comm_buffer_of(Communicator& comm, const torch::Tensor& tensor) {
  bool want_cuda = comm.backend() == "nccl";
  if (tensor.is_cuda() != want_cuda)
    throw UsageError(fmt::format("communicator backend {} needs {} tensors, got one on {}", comm.backend(),
                                 want_cuda ? "CUDA" : "CPU", tensor.device().str()));
  return tensor.is_contiguous() ? tensor : tensor.contiguous();
}

}  // namespace

DType comm_dtype_of(const torch::Tensor& tensor) {
  switch (tensor.scalar_type()) {
    case torch::kFloat: return DType::f32;
    case torch::kDouble: return DType::f64;
    case torch::kInt: return DType::i32;
    case torch::kLong: return DType::i64;
    case torch::kByte: return DType::u8;
    default:
      throw UsageError(fmt::format("communicators do not carry tensors of dtype {}", c10::toString(tensor.scalar_type())));
  }
}

void comm_allreduce(Communicator& comm, torch::Tensor& tensor, ReduceOp op) {
  torch::Tensor buffer = comm_buffer_of(comm, tensor);
  comm.allreduce(buffer.data_ptr(), static_cast<size_t>(buffer.numel()), comm_dtype_of(buffer), op);
  if (!buffer.is_same(tensor)) tensor.copy_(buffer);
}

void comm_broadcast(Communicator& comm, torch::Tensor& tensor, int root) {
  torch::Tensor buffer = comm_buffer_of(comm, tensor);
  comm.broadcast(buffer.data_ptr(), static_cast<size_t>(buffer.numel()), comm_dtype_of(buffer), root);
  if (!buffer.is_same(tensor)) tensor.copy_(buffer);
}

torch::Tensor comm_allgather(Communicator& comm, const torch::Tensor& tensor) {
  torch::Tensor buffer = comm_buffer_of(comm, tensor);
  std::vector<int64_t> shape{comm.size()};
  for (auto d : tensor.sizes()) shape.push_back(d);
  torch::Tensor out = torch::empty(shape, buffer.options());
  comm.allgather(buffer.data_ptr(), out.data_ptr(), static_cast<size_t>(buffer.numel()), comm_dtype_of(buffer));
  return out;
}

void comm_broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root) {
  torch::NoGradGuard no_grad;
  // Group by dtype in a fixed (dtype, then tensor order) order: identical on every rank.
  std::map<DType, std::vector<torch::Tensor>> groups;
  for (auto& t : tensors) groups[comm_dtype_of(t)].push_back(t);
  for (auto& [dtype, group] : groups) {
    std::vector<torch::Tensor> flat_parts;
    for (auto& t : group) flat_parts.push_back(t.reshape({-1}));
    torch::Tensor flat = torch::cat(flat_parts);
    comm_broadcast(comm, flat, root);
    int64_t offset = 0;
    for (auto& t : group) {
      t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

}  // namespace s3e
