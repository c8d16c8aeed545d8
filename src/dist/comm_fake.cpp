#include "dist/comm_fake.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/errors.h"

namespace s3e {

FakeWorld::FakeWorld(int size, CommOptions options, std::vector<FakeFault> faults)
    : size_(size), options_(options), faults_(std::move(faults)), arrivals_(size) {
  if (size < 1) throw UsageError(fmt::format("fake world size must be >= 1, got {}", size));
  for (int r = 0; r < size; ++r) comms_.push_back(std::make_unique<FakeCommunicator>(*this, r, options));
}

FakeWorld::~FakeWorld() = default;

Communicator& FakeWorld::comm(int rank) { return *comms_.at(rank); }

std::vector<std::exception_ptr> FakeWorld::run(const std::function<void(Communicator&)>& fn) {
  std::vector<std::exception_ptr> errors(size_);
  std::vector<std::thread> threads;
  for (int r = 0; r < size_; ++r) {
    threads.emplace_back([&, r] {
      try {
        fn(*comms_[r]);
      } catch (const std::exception& e) {
        errors[r] = std::current_exception();
        abort(r, e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

void FakeWorld::abort(int rank, const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!aborted_) abort_reason_ = fmt::format("job aborted: error on rank {}: {}", rank, what);
  aborted_ = true;
  cv_.notify_all();
}

void FakeWorld::meet(int rank, const CollectiveSignature& sig, const void* send, void* recv) {
  for (const auto& fault : faults_) {
    if (fault.rank != rank || fault.seq != sig.seq) continue;
    if (fault.kind == FakeFault::Kind::fail)
      throw TransientError(fmt::format("injected fault: rank {} fails at {}", rank, collective_describe(sig)));
    std::this_thread::sleep_for(std::chrono::duration<double>(fault.stall_s));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (aborted_) throw TransientError(abort_reason_);
  arrivals_[rank] = Arrival{sig, send, recv};
  uint64_t my_generation = generation_;
  if (++arrived_ == size_) {
    execute();
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  } else {
    auto done = [&] { return generation_ != my_generation || aborted_; };
    if (options_.watchdog_timeout_s > 0) {
      if (!cv_.wait_for(lock, std::chrono::duration<double>(options_.watchdog_timeout_s), done)) {
        // What the watchdog does over MPI: name the collective, then bring the whole job down.
        std::string message = fmt::format(
            "collective {} on backend fake has not completed after {:g} s (timeout {:g} s): a rank is stalled, dead "
            "or issued a different collective",
            collective_describe(sig), options_.watchdog_timeout_s, options_.watchdog_timeout_s);
        if (!aborted_) abort_reason_ = fmt::format("job aborted: error on rank {}: {}", rank, message);
        aborted_ = true;
        cv_.notify_all();
        throw TransientError(message);
      }
    } else {
      cv_.wait(lock, done);
    }
    if (generation_ == my_generation) throw TransientError(abort_reason_);
  }
  if (!generation_error_.empty()) throw Error(ExitCode::failure, generation_error_);
}

void FakeWorld::execute() {
  generation_error_.clear();
  std::vector<CollectiveSignature> signatures;
  for (auto& a : arrivals_) signatures.push_back(a.sig);
  try {
    collective_check_signatures(signatures);
  } catch (const Error& e) {
    generation_error_ = e.what();
    return;
  }
  const CollectiveSignature& sig = signatures.front();
  size_t bytes = sig.count * dtype_size(sig.dtype);
  switch (sig.kind) {
    case CollectiveKind::allreduce: {
      // Reduce in rank order into a scratch buffer: the same order on every call, so results are deterministic.
      std::vector<char> acc(static_cast<const char*>(arrivals_[0].send), static_cast<const char*>(arrivals_[0].send) + bytes);
      for (int r = 1; r < size_; ++r) buffer_reduce(acc.data(), arrivals_[r].send, sig.count, sig.dtype, sig.op);
      if (sig.op == ReduceOp::mean) buffer_scale(acc.data(), sig.count, sig.dtype, size_);
      for (auto& a : arrivals_) std::memcpy(a.recv, acc.data(), bytes);
      break;
    }
    case CollectiveKind::broadcast:
      for (int r = 0; r < size_; ++r)
        if (r != sig.root) std::memcpy(arrivals_[r].recv, arrivals_[sig.root].send, bytes);
      break;
    case CollectiveKind::allgather:
      for (auto& dst : arrivals_)
        for (int r = 0; r < size_; ++r)
          std::memcpy(static_cast<char*>(dst.recv) + r * bytes, arrivals_[r].send, bytes);
      break;
    case CollectiveKind::barrier: break;
  }
}

void FakeWorld::p2p_wait(std::unique_lock<std::mutex>& lock, int rank, const std::string& what,
                         const std::function<bool()>& done) {
  auto finished = [&] { return aborted_ || done(); };
  if (options_.watchdog_timeout_s > 0) {
    if (!cv_.wait_for(lock, std::chrono::duration<double>(options_.watchdog_timeout_s), finished)) {
      // What the watchdog does over MPI: name the op, the peer and the tag, then bring the whole job down.
      std::string message = fmt::format(
          "{} on backend fake has not completed after {:g} s (timeout {:g} s): the peer is stalled, dead or never "
          "posted the matching call",
          what, options_.watchdog_timeout_s, options_.watchdog_timeout_s);
      if (!aborted_) abort_reason_ = fmt::format("job aborted: error on rank {}: {}", rank, message);
      aborted_ = true;
      cv_.notify_all();
      throw TransientError(message);
    }
  } else {
    cv_.wait(lock, finished);
  }
  if (!done()) throw TransientError(abort_reason_);
}

size_t FakeWorld::p2p_unmatched() {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (auto& [rank, box] : mailboxes_) n += box.size();
  return n;
}

std::deque<FakeWorld::Mail>::iterator FakeWorld::p2p_find(int rank, int source, int tag) {
  auto& box = mailboxes_[rank];
  for (auto it = box.begin(); it != box.end(); ++it)
    if (it->tag == tag && (source == Communicator::k_comm_any_source || it->source == source)) return it;
  return box.end();
}

void FakeWorld::p2p_send(int rank, const void* data, size_t count, DType dtype, int dest, int tag) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (aborted_) throw TransientError(abort_reason_);
  Mail mail{mail_next_id_++, rank, tag, dtype, count, {}};
  auto* bytes = static_cast<const char*>(data);
  mail.bytes.assign(bytes, bytes + count * dtype_size(dtype));
  uint64_t id = mail.id;
  bool eager = mail.bytes.size() <= k_fake_eager_bytes;
  mailboxes_[dest].push_back(std::move(mail));
  cv_.notify_all();
  if (eager) return;
  // Larger messages are synchronous, as MPI's rendezvous protocol makes them: returning before the receiver took
  // it would hide the send-send deadlocks MPI shows as soon as a message is too large to be buffered.
  mail_in_flight_.insert(id);
  p2p_wait(lock, rank, comm_p2p_describe("send to", dest, tag, count, dtype),
           [&] { return mail_in_flight_.count(id) == 0; });
}

CommMessage FakeWorld::p2p_recv(int rank, void* data, size_t count, DType dtype, int source, int tag) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (aborted_) throw TransientError(abort_reason_);
  std::string what = comm_p2p_describe("recv from", source, tag, count, dtype);
  auto& box = mailboxes_[rank];
  p2p_wait(lock, rank, what, [&] { return p2p_find(rank, source, tag) != box.end(); });
  auto it = p2p_find(rank, source, tag);
  if (it->dtype != dtype)
    throw Error(ExitCode::failure, fmt::format("{}: rank {} sent {} x {}, received as {}", what, it->source,
                                               it->count, dtype_name(it->dtype), dtype_name(dtype)));
  if (it->count > count)
    throw Error(ExitCode::failure, fmt::format("{}: the message is longer than the {}-element buffer ({} elements)",
                                               what, count, it->count));
  if (!it->bytes.empty()) std::memcpy(data, it->bytes.data(), it->bytes.size());
  CommMessage message{it->source, it->tag, it->count};
  mail_in_flight_.erase(it->id);
  box.erase(it);
  cv_.notify_all();
  return message;
}

std::optional<CommMessage> FakeWorld::p2p_iprobe(int rank, int source, int tag, DType dtype) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (aborted_) throw TransientError(abort_reason_);
  auto it = p2p_find(rank, source, tag);
  if (it == mailboxes_[rank].end()) return std::nullopt;
  if (it->bytes.size() % dtype_size(dtype) != 0)
    throw Error(ExitCode::failure, fmt::format("iprobe from rank {} (tag {}): the message is not a whole number of {} "
                                               "elements (sender used another dtype)",
                                               it->source, tag, dtype_name(dtype)));
  return CommMessage{it->source, it->tag, it->bytes.size() / dtype_size(dtype)};
}

CollectiveSignature FakeCommunicator::signature(CollectiveKind kind, size_t count, DType dtype, ReduceOp op,
                                                int root) const {
  // seq: the base class counted this call already.
  return CollectiveSignature{kind, dtype, op, static_cast<int32_t>(root), count, collectives_issued() - 1};
}

std::unique_ptr<CommWork> FakeCommunicator::do_allreduce(void* data, size_t count, DType dtype, ReduceOp op, bool) {
  world_.meet(rank_, signature(CollectiveKind::allreduce, count, dtype, op, 0), data, data);
  return nullptr;  // completes synchronously, also when asked for async
}

void FakeCommunicator::do_broadcast(void* data, size_t count, DType dtype, int root) {
  world_.meet(rank_, signature(CollectiveKind::broadcast, count, dtype, ReduceOp::sum, root), data, data);
}

void FakeCommunicator::do_allgather(const void* send, void* recv, size_t count, DType dtype) {
  world_.meet(rank_, signature(CollectiveKind::allgather, count, dtype, ReduceOp::sum, 0), send, recv);
}

void FakeCommunicator::do_barrier() {
  world_.meet(rank_, signature(CollectiveKind::barrier, 0, DType::u8, ReduceOp::sum, 0), nullptr, nullptr);
}

}  // namespace s3e
