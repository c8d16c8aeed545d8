#include "dist/comm_mpi.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "core/errors.h"

namespace s3e {

namespace {

// MPI counts are int: larger buffers go in chunks of this many elements.
constexpr size_t k_mpi_chunk = size_t{1} << 30;

MPI_Op mpi_op_of(ReduceOp op) { return op == ReduceOp::max ? MPI_MAX : MPI_SUM; }

class MpiWork : public CommWork {
 public:
  MpiWork(std::vector<MPI_Request> requests, void* data, size_t count, DType dtype, int divisor)
      : requests_(std::move(requests)), data_(data), count_(count), dtype_(dtype), divisor_(divisor) {}
  ~MpiWork() override {
    // Never leave a request in flight on a buffer the caller is about to free.
    if (!done_) {
      MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    }
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    mpi_check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE),
              "MPI_Testall");
    if (flag) complete();
    return done_;
  }
  void wait() override {
    if (done_) return;
    mpi_check(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    complete();
  }

 private:
  void complete() {
    done_ = true;
    buffer_scale(data_, count_, dtype_, divisor_);
  }
  std::vector<MPI_Request> requests_;
  void* data_;
  size_t count_;
  DType dtype_;
  int divisor_;
  bool done_ = false;
};

}  // namespace

MPI_Datatype mpi_datatype_of(DType dtype) {
  switch (dtype) {
    case DType::u8: return MPI_UINT8_T;
    case DType::i32: return MPI_INT32_T;
    case DType::i64: return MPI_INT64_T;
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
  }
  return MPI_BYTE;
}

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw TransientError(fmt::format("{} failed: {}", what, text));
}

MpiCommunicator::MpiCommunicator(CommOptions options, MPI_Comm parent) : Communicator(options) {
  mpi_check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  mpi_check(MPI_Comm_dup(parent, &check_comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(check_comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  watchdog_start(rank_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised) return;
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (check_comm_ != MPI_COMM_NULL) MPI_Comm_free(&check_comm_);
}

std::unique_ptr<CommWork> MpiCommunicator::do_allreduce(void* data, size_t count, DType dtype, ReduceOp op,
                                                        bool async) {
  auto* bytes = static_cast<char*>(data);
  size_t element = dtype_size(dtype);
  int divisor = op == ReduceOp::mean ? size_ : 1;
  if (!async) {
    for (size_t offset = 0; offset < count; offset += k_mpi_chunk) {
      int n = static_cast<int>(std::min(k_mpi_chunk, count - offset));
      mpi_check(MPI_Allreduce(MPI_IN_PLACE, bytes + offset * element, n, mpi_datatype_of(dtype), mpi_op_of(op), comm_),
                "MPI_Allreduce");
    }
    buffer_scale(data, count, dtype, divisor);
    return nullptr;
  }
  std::vector<MPI_Request> requests;
  for (size_t offset = 0; offset < count || (count == 0 && requests.empty()); offset += k_mpi_chunk) {
    int n = static_cast<int>(std::min(k_mpi_chunk, count - offset));
    requests.emplace_back();
    mpi_check(MPI_Iallreduce(MPI_IN_PLACE, bytes + offset * element, n, mpi_datatype_of(dtype), mpi_op_of(op), comm_,
                             &requests.back()),
              "MPI_Iallreduce");
    if (count == 0) break;
  }
  return std::make_unique<MpiWork>(std::move(requests), data, count, dtype, divisor);
}

void MpiCommunicator::do_broadcast(void* data, size_t count, DType dtype, int root) {
  auto* bytes = static_cast<char*>(data);
  for (size_t offset = 0; offset < count; offset += k_mpi_chunk) {
    int n = static_cast<int>(std::min(k_mpi_chunk, count - offset));
    mpi_check(MPI_Bcast(bytes + offset * dtype_size(dtype), n, mpi_datatype_of(dtype), root, comm_), "MPI_Bcast");
  }
}

void MpiCommunicator::do_allgather(const void* send, void* recv, size_t count, DType dtype) {
  if (count > static_cast<size_t>(INT_MAX))
    throw UsageError(fmt::format("allgather of {} elements per rank exceeds MPI's int count", count));
  mpi_check(MPI_Allgather(send, static_cast<int>(count), mpi_datatype_of(dtype), recv, static_cast<int>(count),
                          mpi_datatype_of(dtype), comm_),
            "MPI_Allgather");
}

void MpiCommunicator::do_barrier() { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

std::vector<CollectiveSignature> MpiCommunicator::do_gather_signatures(const CollectiveSignature& mine) {
  std::vector<CollectiveSignature> all(size_);
  mpi_check(MPI_Allgather(&mine, sizeof(mine), MPI_BYTE, all.data(), sizeof(mine), MPI_BYTE, check_comm_),
            "MPI_Allgather (collective check)");
  return all;
}

}  // namespace s3e
