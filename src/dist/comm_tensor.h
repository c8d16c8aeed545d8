// comm_tensor.h — the thin torch::Tensor layer over the raw-buffer Communicator: dtype mapping and collectives on
// whole tensors (CPU tensors for mpi and fake, CUDA tensors for nccl).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "dist/communicator.h"

namespace s3e {

// Throws UsageError for dtypes the communicators do not carry (half, bool, complex).
DType comm_dtype_of(const torch::Tensor& tensor);

void comm_allreduce(Communicator& comm, torch::Tensor& tensor, ReduceOp op);
void comm_broadcast(Communicator& comm, torch::Tensor& tensor, int root);
// Returns a tensor of shape [size, ...tensor.shape] with rank r's tensor at index r.
torch::Tensor comm_allgather(Communicator& comm, const torch::Tensor& tensor);
// Broadcasts many tensors (e.g. the initial parameters) through one flat buffer per dtype: a few large messages
// instead of one per tensor. Writes in place under NoGradGuard.
void comm_broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root);

}  // namespace s3e
