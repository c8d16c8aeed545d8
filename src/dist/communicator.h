// communicator.h — the collective-communication interface of the distributed runtime (after PyTorch c10d: one
// entry point per collective, backends behind it). Buffers are raw (pointer, count, dtype) so that most code stays
// torch-free; comm_tensor.h adapts torch::Tensor. Backends: mpi (CPU buffers, comm_mpi.h), nccl (GPU buffers,
// comm_nccl.h, only when built with CUDA LibTorch and NCCL) and an in-process fake for unit tests (comm_fake.h).
//
// Ordering contract (why every caller must respect it): MPI and NCCL match collectives by issue order, not by name.
// Every rank must issue the same collectives, with the same count and dtype, in the same order; otherwise a job
// hangs or silently mixes buffers. The debug mode (CommOptions::check_collectives) verifies this before each call
// and reports the first mismatch; the watchdog turns a collective that never completes into an error naming it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dist/comm_types.h"

namespace s3e {

class CommWatchdog;

struct CommOptions {
  double watchdog_timeout_s = 600;  // a collective pending longer than this aborts the job; 0 switches it off
  bool check_collectives = false;   // debug mode: compare (op, count, dtype) across ranks before every collective
};

// A launched non-blocking collective. The buffer must stay untouched until wait() returned.
class CommWork {
 public:
  virtual ~CommWork() = default;
  virtual bool test() = 0;  // drives progress; true once complete (then wait() returns at once)
  virtual void wait() = 0;
};

class Communicator {
 public:
  explicit Communicator(CommOptions options);
  virtual ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  const CommOptions& options() const { return options_; }

  // In place: every rank ends with the element-wise reduction of all ranks' buffers (mean = sum / size).
  void allreduce(void* data, size_t count, DType dtype, ReduceOp op);
  std::unique_ptr<CommWork> allreduce_async(void* data, size_t count, DType dtype, ReduceOp op);
  // In place: every rank ends with root's buffer.
  void broadcast(void* data, size_t count, DType dtype, int root);
  // recv holds size() * count elements, rank r's `send` at offset r * count.
  void allgather(const void* send, void* recv, size_t count, DType dtype);
  void barrier();

  // Collectives issued so far on this communicator (the `#N` in error messages).
  uint64_t collectives_issued() const { return seq_; }

 protected:
  // Backends implement the transfers; the public functions add the sequence number, the debug check and the
  // watchdog around them. do_allreduce returns null when it completed synchronously.
  virtual std::unique_ptr<CommWork> do_allreduce(void* data, size_t count, DType dtype, ReduceOp op, bool async) = 0;
  virtual void do_broadcast(void* data, size_t count, DType dtype, int root) = 0;
  virtual void do_allgather(const void* send, void* recv, size_t count, DType dtype) = 0;
  virtual void do_barrier() = 0;
  // Gathers every rank's signature of the collective about to be issued (debug mode). Default: via do_allgather.
  virtual std::vector<CollectiveSignature> do_gather_signatures(const CollectiveSignature& mine);
  // Backends that block in a library call (mpi, nccl) start a watchdog thread; the fake times out by itself.
  void watchdog_start(int rank);

 private:
  CollectiveSignature issue(CollectiveKind kind, size_t count, DType dtype, ReduceOp op, int root);
  template <typename F>
  void watched(const CollectiveSignature& sig, F&& body);

  CommOptions options_;
  uint64_t seq_ = 0;
  std::unique_ptr<CommWatchdog> watchdog_;
};

// Throws an Error naming every rank's signature when they are not all equal (the debug mode's report).
void collective_check_signatures(const std::vector<CollectiveSignature>& all);

// Backends compiled into this build ("mpi", and "nccl" when built with it); "fake" is for tests only.
std::vector<std::string> comm_backends_available();
// Creates a communicator over all ranks of the job. Throws UsageError for a backend that is not compiled in.
std::unique_ptr<Communicator> comm_create(const std::string& backend, const CommOptions& options);

// Helpers on top of the collectives used by checkpoints and agreement.
std::string comm_broadcast_string(Communicator& comm, const std::string& text, int root);
std::vector<std::string> comm_allgather_string(Communicator& comm, const std::string& text);
int64_t comm_allreduce_int64(Communicator& comm, int64_t value, ReduceOp op);

}  // namespace s3e
