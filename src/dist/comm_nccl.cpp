// Only compiled with S3E_HAVE_NCCL (see CMakeLists.txt). Not yet compiled on any machine: treat as a draft.
#include "dist/comm_nccl.h"

#include <cuda_runtime.h>
#include <fmt/format.h>
#include <mpi.h>
#include <nccl.h>

#include "core/errors.h"
#include "dist/comm_mpi.h"
#include "dist/process_context.h"

namespace s3e {

namespace {

void nccl_check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw TransientError(fmt::format("{} failed: {}", what, ncclGetErrorString(rc)));
}

void cuda_check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw TransientError(fmt::format("{} failed: {}", what, cudaGetErrorString(rc)));
}

ncclDataType_t nccl_type_of(DType dtype) {
  switch (dtype) {
    case DType::u8: return ncclUint8;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
  }
  return ncclUint8;
}

ncclRedOp_t nccl_op_of(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::mean: return ncclAvg;  // NCCL >= 2.10
    case ReduceOp::max: return ncclMax;
  }
  return ncclSum;
}

// Completion of work queued on the communicator's stream, marked by an event.
class NcclWork : public CommWork {
 public:
  explicit NcclWork(cudaStream_t stream) {
    cuda_check(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreate");
    cuda_check(cudaEventRecord(event_, stream), "cudaEventRecord");
  }
  ~NcclWork() override {
    cudaEventSynchronize(event_);
    cudaEventDestroy(event_);
  }
  bool test() override { return cudaEventQuery(event_) == cudaSuccess; }
  void wait() override { cuda_check(cudaEventSynchronize(event_), "cudaEventSynchronize"); }

 private:
  cudaEvent_t event_;
};

class NcclCommunicator : public Communicator {
 public:
  explicit NcclCommunicator(const CommOptions& options) : Communicator(options) {
    const ProcessContext& ctx = process_context();
    rank_ = ctx.rank;
    size_ = ctx.world_size;
    int devices = 0;
    cuda_check(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    if (devices == 0) throw UsageError("nccl backend: no CUDA device visible on " + ctx.host);
    cuda_check(cudaSetDevice(ctx.local_rank % devices), "cudaSetDevice");
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclUniqueId id;
    if (rank_ == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    mpi_check(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast (nccl unique id)");
    nccl_check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    // Signatures for the debug mode travel over MPI (host memory), not through NCCL.
    mpi_check(MPI_Comm_dup(MPI_COMM_WORLD, &check_comm_), "MPI_Comm_dup");
    watchdog_start(rank_);
  }
  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Comm_free(&check_comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

 protected:
  std::unique_ptr<CommWork> do_allreduce(void* data, size_t count, DType dtype, ReduceOp op, bool async) override {
    nccl_check(ncclAllReduce(data, data, count, nccl_type_of(dtype), nccl_op_of(op), comm_, stream_), "ncclAllReduce");
    auto work = std::make_unique<NcclWork>(stream_);
    if (!async) work->wait();
    return work;
  }
  void do_broadcast(void* data, size_t count, DType dtype, int root) override {
    nccl_check(ncclBroadcast(data, data, count, nccl_type_of(dtype), root, comm_, stream_), "ncclBroadcast");
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }
  void do_allgather(const void* send, void* recv, size_t count, DType dtype) override {
    nccl_check(ncclAllGather(send, recv, count, nccl_type_of(dtype), comm_, stream_), "ncclAllGather");
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }
  void do_barrier() override {
    // NCCL has no barrier: a one-element allreduce on the stream, then wait for it.
    float* flag = nullptr;
    cuda_check(cudaMalloc(&flag, sizeof(float)), "cudaMalloc");
    ncclResult_t rc = ncclAllReduce(flag, flag, 1, ncclFloat32, ncclSum, comm_, stream_);
    cudaStreamSynchronize(stream_);
    cudaFree(flag);
    nccl_check(rc, "ncclAllReduce (barrier)");
  }
  std::vector<CollectiveSignature> do_gather_signatures(const CollectiveSignature& mine) override {
    std::vector<CollectiveSignature> all(size_);
    mpi_check(MPI_Allgather(&mine, sizeof(mine), MPI_BYTE, all.data(), sizeof(mine), MPI_BYTE, check_comm_),
              "MPI_Allgather (collective check)");
    return all;
  }

 private:
  int rank_ = 0, size_ = 1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  MPI_Comm check_comm_ = MPI_COMM_NULL;
};

}  // namespace

std::unique_ptr<Communicator> nccl_communicator_create(const CommOptions& options) {
  return std::make_unique<NcclCommunicator>(options);
}

}  // namespace s3e
