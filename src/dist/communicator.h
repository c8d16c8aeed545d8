// communicator.h — the collective-communication interface of the distributed runtime (after PyTorch c10d: one
// entry point per collective, backends behind it). Buffers are raw (pointer, count, dtype) so that most code stays
// torch-free; comm_tensor.h adapts torch::Tensor. Backends: mpi (CPU buffers, comm_mpi.h), nccl (GPU buffers,
// comm_nccl.h, only when built with CUDA LibTorch and NCCL) and an in-process fake for unit tests (comm_fake.h).
//
// Ordering contract (why every caller must respect it): MPI and NCCL match collectives by issue order, not by name.
// Every rank must issue the same collectives, with the same count and dtype, in the same order; otherwise a job
// hangs or silently mixes buffers. The debug mode (CommOptions::check_collectives) verifies this before each call
// and reports the first mismatch; the watchdog turns a collective that never completes into an error naming it.
//
// Point-to-point messages (send / recv / iprobe, after MPI_Send / MPI_Recv / MPI_Iprobe) are matched by (source,
// tag) instead: messages from one source with one tag arrive in the order they were sent (MPI's non-overtaking
// rule), nothing else is ordered. They are not collectives: they take no sequence number, are not part of the
// debug check, and may be issued by any subset of ranks. A blocking send or recv is watched like a collective (a
// recv pending longer than the timeout ends the job, naming the op, the peer and the tag). A send may block until
// the receiver posts its recv (the fake always does, MPI does for large messages): never let two ranks send to
// each other first. Under MPI_THREAD_FUNNELED every call comes from the main thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dist/comm_types.h"

namespace s3e {

class CommWatchdog;

struct CommOptions {
  double watchdog_timeout_s = 600;  // a collective pending longer than this aborts the job; 0 switches it off
  bool check_collectives = false;   // debug mode: compare (op, count, dtype) across ranks before every collective
  // mpi backend: allreduce and broadcast larger than this go as consecutive messages of at most this size (0 = one
  // message). Why: OpenMPI's tuned allreduce mallocs a temporary the size of the message on every call; glibc serves
  // blocks >= 32 MiB by a fresh mmap, and on this VM every fresh page faults (~20 us per 4 KiB page), a 20x cliff
  // above 16 MiB (docs/distributed.md, "Large messages"). Chunks split elements, never an element's reduction
  // (tests/dist/test_mpi_chunked.cpp checks bit-identical results at 1, 2 and 4 ranks).
  size_t max_message_bytes = size_t{16} << 20;
  // mpi backend, several ranks: TCP heartbeats between rank 0 and every other rank on a side channel (heartbeat.h),
  // one every heartbeat_interval_s; silence longer than heartbeat_timeout_s ends the job naming the lost rank and its
  // host. 0 = none (the default here, so that communicators built by hand stay as they were; the [dist] config keys
  // switch it on for every stage).
  double heartbeat_interval_s = 0;
  double heartbeat_timeout_s = 60;
};

// A point-to-point message: who sent it, its tag, and how many elements of the dtype it was probed or received as.
struct CommMessage {
  int source = -1;
  int tag = -1;
  size_t count = 0;
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

  // Point-to-point. Tags are 0..k_comm_max_tag (MPI guarantees at least 32767); recv and iprobe accept
  // k_comm_any_source. Backends without point-to-point messages (nccl) throw UsageError.
  static constexpr int k_comm_any_source = -1;
  static constexpr int k_comm_max_tag = 32767;
  // Blocking: returns when `data` may be reused (possibly before the receiver has it). dest == rank() is a
  // UsageError (MPI may never complete a send to oneself).
  void send(const void* data, size_t count, DType dtype, int dest, int tag);
  // Blocking: receives one message of at most `count` elements into `data`; returns its source, tag and count.
  // A longer message is an error (nothing is truncated silently).
  CommMessage recv(void* data, size_t count, DType dtype, int source, int tag);
  // Non-blocking: the first message from `source` (or any) with `tag` that is waiting, counted in `dtype`
  // elements, without receiving it; nullopt when none is. Receive it with recv(buf, m.count, dtype, m.source, tag):
  // with one receiving thread, that recv gets exactly the probed message (non-overtaking).
  std::optional<CommMessage> iprobe(int source, int tag, DType dtype);

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
  // Point-to-point transfers; arguments are validated by the public functions. Default: UsageError.
  virtual void do_send(const void* data, size_t count, DType dtype, int dest, int tag);
  virtual CommMessage do_recv(void* data, size_t count, DType dtype, int source, int tag);
  virtual std::optional<CommMessage> do_iprobe(int source, int tag, DType dtype);

 private:
  CollectiveSignature issue(CollectiveKind kind, size_t count, DType dtype, ReduceOp op, int root);
  template <typename F>
  void watched(const CollectiveSignature& sig, F&& body);
  void p2p_check(const char* op, int peer, int tag, bool any_source_ok) const;

  CommOptions options_;
  uint64_t seq_ = 0;
  std::unique_ptr<CommWatchdog> watchdog_;
};

// "recv from rank 0 (tag 7, 1 x int64)", "send to rank 2 (...)": how errors and the watchdog name a message;
// peer k_comm_any_source reads "any rank".
std::string comm_p2p_describe(const char* op, int peer, int tag, size_t count, DType dtype);

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
