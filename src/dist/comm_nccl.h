// comm_nccl.h — the nccl backend: collectives on GPU buffers (device pointers) of the GPU pinned by local rank.
// The NCCL unique id is created by rank 0 and broadcast over MPI, because NCCL needs an out-of-band channel to
// bootstrap and MPI is the one every rank already has. Compiled only when CMake finds CUDA-enabled LibTorch and
// NCCL (S3E_HAVE_NCCL); NOT YET COMPILED OR RUN on any machine of this project (no GPU so far).
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace s3e {

// Creates the nccl communicator over MPI_COMM_WORLD on device `local_rank % device_count`.
std::unique_ptr<Communicator> nccl_communicator_create(const CommOptions& options);

}  // namespace s3e
