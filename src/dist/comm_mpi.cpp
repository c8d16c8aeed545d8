#include "dist/comm_mpi.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "core/errors.h"
#include "dist/heartbeat.h"

namespace s3e {

namespace {

// MPI counts are int: larger buffers go in chunks of at most this many elements (and of max_message_bytes).
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

// Why two exit codes: an MPI error caused by the arguments (a bad count, type, rank, tag, root, a truncated message)
// is a bug that a requeue would only repeat (exit 1); anything else (a lost peer, a network or resource failure) may
// pass on a rerun, so it is transient (exit 75, SLURM requeues).
bool mpi_error_is_bug(int error_class) {
  switch (error_class) {
    case MPI_ERR_BUFFER: case MPI_ERR_COUNT: case MPI_ERR_TYPE: case MPI_ERR_TAG: case MPI_ERR_COMM:
    case MPI_ERR_RANK: case MPI_ERR_ROOT: case MPI_ERR_OP: case MPI_ERR_ARG: case MPI_ERR_TRUNCATE:
    case MPI_ERR_DIMS: case MPI_ERR_TOPOLOGY: case MPI_ERR_GROUP: case MPI_ERR_REQUEST:
      return true;
    default:
      return false;
  }
}

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0, error_class = rc;
  MPI_Error_string(rc, text, &length);
  MPI_Error_class(rc, &error_class);
  if (mpi_error_is_bug(error_class))
    throw Error(ExitCode::failure, fmt::format("{} failed: {} (a bug: wrong arguments to MPI)", what, text));
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
  // The heartbeat's set-up is three small allgathers on this communicator, issued here by every rank in the same
  // order before any caller's collective (so they are #0..#2 of its sequence).
  if (options.heartbeat_interval_s > 0 && size_ > 1) {
    HeartbeatOptions h;
    h.interval_s = options.heartbeat_interval_s;
    h.timeout_s = options.heartbeat_timeout_s;
    heartbeat_ = std::make_unique<Heartbeat>(*this, h);
  }
}

MpiCommunicator::~MpiCommunicator() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  heartbeat_.reset();  // says goodbye to the peers: a rank that finished is not a lost one
  if (finalised) return;
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (check_comm_ != MPI_COMM_NULL) MPI_Comm_free(&check_comm_);
}

// Elements per message: MPI's int count, and options().max_message_bytes (see CommOptions for the cliff it avoids).
size_t MpiCommunicator::chunk_elements(DType dtype) const {
  size_t limit = options().max_message_bytes / dtype_size(dtype);
  return limit == 0 ? k_mpi_chunk : std::min(k_mpi_chunk, limit);  // 0 or less than one element: one message
}

std::unique_ptr<CommWork> MpiCommunicator::do_allreduce(void* data, size_t count, DType dtype, ReduceOp op,
                                                        bool async) {
  auto* bytes = static_cast<char*>(data);
  size_t element = dtype_size(dtype), chunk = chunk_elements(dtype);
  int divisor = op == ReduceOp::mean ? size_ : 1;
  // Chunks are consecutive blocking calls, not a window of MPI_Iallreduce: measured here, libnbc's non-blocking
  // allreduce is 1.5-4x slower per byte than the tuned blocking one, and 2 ranks on 2 cores have no idle core for
  // overlapped chunks to use (docs/distributed.md, "Large messages").
  if (!async) {
    for (size_t offset = 0; offset < count; offset += chunk) {
      int n = static_cast<int>(std::min(chunk, count - offset));
      mpi_check(MPI_Allreduce(MPI_IN_PLACE, bytes + offset * element, n, mpi_datatype_of(dtype), mpi_op_of(op), comm_),
                "MPI_Allreduce");
    }
    buffer_scale(data, count, dtype, divisor);
    return nullptr;
  }
  // Every chunk is started now, in order: a chunk started lazily (from test()) could be matched against a later
  // collective on another rank, or deadlock against a rank blocked in any other MPI call.
  std::vector<MPI_Request> requests;
  for (size_t offset = 0; offset < count || (count == 0 && requests.empty()); offset += chunk) {
    int n = static_cast<int>(std::min(chunk, count - offset));
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
  size_t chunk = chunk_elements(dtype);
  for (size_t offset = 0; offset < count; offset += chunk) {
    int n = static_cast<int>(std::min(chunk, count - offset));
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

namespace {

int mpi_p2p_count(size_t count, const char* op) {
  if (count > static_cast<size_t>(INT_MAX))
    throw UsageError(fmt::format("{} of {} elements exceeds MPI's int count", op, count));
  return static_cast<int>(count);
}

int mpi_source_of(int source) { return source == Communicator::k_comm_any_source ? MPI_ANY_SOURCE : source; }

// The element count of a matched message; a byte length that is not a whole number of elements means the
// sender used another dtype, a bug worth naming.
size_t mpi_status_count(MPI_Status& status, DType dtype, const char* op) {
  int n = 0;
  mpi_check(MPI_Get_count(&status, mpi_datatype_of(dtype), &n), "MPI_Get_count");
  if (n == MPI_UNDEFINED)
    throw Error(ExitCode::failure, fmt::format("{} from rank {} (tag {}): the message is not a whole number of {} "
                                               "elements (sender used another dtype)",
                                               op, status.MPI_SOURCE, status.MPI_TAG, dtype_name(dtype)));
  return static_cast<size_t>(n);
}

}  // namespace

void MpiCommunicator::do_send(const void* data, size_t count, DType dtype, int dest, int tag) {
  mpi_check(MPI_Send(data, mpi_p2p_count(count, "send"), mpi_datatype_of(dtype), dest, tag, comm_), "MPI_Send");
}

CommMessage MpiCommunicator::do_recv(void* data, size_t count, DType dtype, int source, int tag) {
  MPI_Status status;
  int rc = MPI_Recv(data, mpi_p2p_count(count, "recv"), mpi_datatype_of(dtype), mpi_source_of(source), tag, comm_,
                    &status);
  if (rc != MPI_SUCCESS) {
    int error_class = 0;
    MPI_Error_class(rc, &error_class);
    // A message longer than the buffer is the caller's bug, not a lost peer: exit 1, not 75.
    if (error_class == MPI_ERR_TRUNCATE)
      throw Error(ExitCode::failure, fmt::format("{}: the message is longer than the {}-element buffer",
                                                 comm_p2p_describe("recv from", source, tag, count, dtype), count));
    mpi_check(rc, "MPI_Recv");
  }
  return CommMessage{status.MPI_SOURCE, status.MPI_TAG, mpi_status_count(status, dtype, "recv")};
}

std::optional<CommMessage> MpiCommunicator::do_iprobe(int source, int tag, DType dtype) {
  int flag = 0;
  MPI_Status status;
  mpi_check(MPI_Iprobe(mpi_source_of(source), tag, comm_, &flag, &status), "MPI_Iprobe");
  if (!flag) return std::nullopt;
  return CommMessage{status.MPI_SOURCE, status.MPI_TAG, mpi_status_count(status, dtype, "iprobe")};
}

std::vector<CollectiveSignature> MpiCommunicator::do_gather_signatures(const CollectiveSignature& mine) {
  std::vector<CollectiveSignature> all(size_);
  mpi_check(MPI_Allgather(&mine, sizeof(mine), MPI_BYTE, all.data(), sizeof(mine), MPI_BYTE, check_comm_),
            "MPI_Allgather (collective check)");
  return all;
}

}  // namespace s3e
