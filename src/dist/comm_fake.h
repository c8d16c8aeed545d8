// comm_fake.h — an in-process "job" for unit tests: N ranks are N threads of one process, each with its own
// Communicator whose collectives meet in shared memory. It checks on every collective that all ranks issued the
// same signature (as the debug mode does over MPI), times out like the watchdog, and injects faults: a rank that
// throws at its k-th collective (a crashed peer: the others get an error instead of hanging, as under
// process_abort) or one that stalls before it.
// Point-to-point messages go through per-rank mailboxes. Like MPI over shared memory, a send of up to
// k_fake_eager_bytes returns at once (buffered) and a larger one waits until the receiver has taken it, so the
// send-send deadlocks that large messages cause under MPI show up here too; recv also checks that the sender's
// dtype equals the receiver's. Waits time out like the watchdog and end early when
// the world aborted; iprobe throws once it has, so a polling loop cannot spin on after a rank died.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace s3e {

struct FakeFault {
  enum class Kind { fail, stall };
  Kind kind = Kind::fail;
  int rank = 0;
  uint64_t seq = 0;      // the collective number (Communicator::collectives_issued() before the call)
  double stall_s = 0;    // for stall: how long the rank sleeps before joining
};

class FakeCommunicator;

constexpr size_t k_fake_eager_bytes = 4096;  // OpenMPI's shared-memory (vader) eager limit

class FakeWorld {
 public:
  // options.watchdog_timeout_s bounds every wait (0: wait forever).
  explicit FakeWorld(int size, CommOptions options = {}, std::vector<FakeFault> faults = {});
  ~FakeWorld();

  int size() const { return size_; }
  Communicator& comm(int rank);
  // Runs fn(comm) on one thread per rank and joins them; returns each rank's exception (null: returned normally).
  // A rank that throws marks the world as aborted, so the others fail fast in their next or current collective.
  std::vector<std::exception_ptr> run(const std::function<void(Communicator&)>& fn);
  // Point-to-point messages sent and not received yet, over all ranks (tests check that a protocol leaves none).
  size_t p2p_unmatched();

 private:
  friend class FakeCommunicator;
  struct Arrival {
    CollectiveSignature sig;
    const void* send = nullptr;
    void* recv = nullptr;
  };
  // The rendezvous: every rank deposits its arrival; the last one to arrive executes the collective for all.
  void meet(int rank, const CollectiveSignature& sig, const void* send, void* recv);
  void execute();
  void abort(int rank, const std::string& what);

  // Point-to-point (called by FakeCommunicator with the world's rank of the caller).
  struct Mail {
    uint64_t id = 0;
    int source = 0;
    int tag = 0;
    DType dtype = DType::u8;
    size_t count = 0;
    std::vector<char> bytes;
  };
  void p2p_send(int rank, const void* data, size_t count, DType dtype, int dest, int tag);
  CommMessage p2p_recv(int rank, void* data, size_t count, DType dtype, int source, int tag);
  std::optional<CommMessage> p2p_iprobe(int rank, int source, int tag, DType dtype);
  // The first mail in rank's mailbox matching (source or any, tag); mailboxes are in send order.
  std::deque<Mail>::iterator p2p_find(int rank, int source, int tag);
  // Waits on cv_ until done() or the world aborted; throws TransientError naming `what` on timeout (and aborts).
  void p2p_wait(std::unique_lock<std::mutex>& lock, int rank, const std::string& what,
                const std::function<bool()>& done);

  int size_;
  CommOptions options_;
  std::vector<FakeFault> faults_;
  std::vector<std::unique_ptr<FakeCommunicator>> comms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Arrival> arrivals_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  std::string generation_error_;  // mismatch found in the last completed generation
  bool aborted_ = false;
  std::string abort_reason_;
  std::map<int, std::deque<Mail>> mailboxes_;  // by destination rank
  std::set<uint64_t> mail_in_flight_;          // sent and not yet received: their senders wait
  uint64_t mail_next_id_ = 1;
};

class FakeCommunicator : public Communicator {
 public:
  FakeCommunicator(FakeWorld& world, int rank, CommOptions options)
      : Communicator(options), world_(world), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return world_.size(); }
  std::string backend() const override { return "fake"; }

 protected:
  std::unique_ptr<CommWork> do_allreduce(void* data, size_t count, DType dtype, ReduceOp op, bool async) override;
  void do_broadcast(void* data, size_t count, DType dtype, int root) override;
  void do_allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void do_barrier() override;
  // The rendezvous compares signatures on every collective anyway.
  std::vector<CollectiveSignature> do_gather_signatures(const CollectiveSignature& mine) override {
    return std::vector<CollectiveSignature>(world_.size(), mine);
  }
  void do_send(const void* data, size_t count, DType dtype, int dest, int tag) override {
    world_.p2p_send(rank_, data, count, dtype, dest, tag);
  }
  CommMessage do_recv(void* data, size_t count, DType dtype, int source, int tag) override {
    return world_.p2p_recv(rank_, data, count, dtype, source, tag);
  }
  std::optional<CommMessage> do_iprobe(int source, int tag, DType dtype) override {
    return world_.p2p_iprobe(rank_, source, tag, dtype);
  }

 private:
  CollectiveSignature signature(CollectiveKind kind, size_t count, DType dtype, ReduceOp op, int root) const;
  FakeWorld& world_;
  int rank_;
};

}  // namespace s3e
