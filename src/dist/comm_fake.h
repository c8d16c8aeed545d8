// comm_fake.h — an in-process "job" for unit tests: N ranks are N threads of one process, each with its own
// Communicator whose collectives meet in shared memory. It checks on every collective that all ranks issued the
// same signature (as the debug mode does over MPI), times out like the watchdog, and injects faults: a rank that
// throws at its k-th collective (a crashed peer: the others get an error instead of hanging, as under
// process_abort) or one that stalls before it.
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
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

 private:
  CollectiveSignature signature(CollectiveKind kind, size_t count, DType dtype, ReduceOp op, int root) const;
  FakeWorld& world_;
  int rank_;
};

}  // namespace s3e
