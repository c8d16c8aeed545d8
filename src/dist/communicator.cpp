#include "dist/communicator.h"

#include <fmt/format.h>

#include <cstring>

#include "core/errors.h"
#include "dist/comm_watchdog.h"

namespace s3e {

namespace {

// An async collective whose completion also closes its watchdog entry.
class WatchedWork : public CommWork {
 public:
  WatchedWork(std::unique_ptr<CommWork> inner, CommWatchdog* watchdog, uint64_t token)
      : inner_(std::move(inner)), watchdog_(watchdog), token_(token) {}
  ~WatchedWork() override { close(); }
  bool test() override {
    if (inner_ && !inner_->test()) return false;
    close();
    return true;
  }
  void wait() override {
    if (inner_) inner_->wait();
    close();
  }

 private:
  void close() {
    if (watchdog_ && token_) watchdog_->end(token_);
    token_ = 0;
  }
  std::unique_ptr<CommWork> inner_;
  CommWatchdog* watchdog_;
  uint64_t token_;
};

}  // namespace

Communicator::Communicator(CommOptions options) : options_(options) {}
Communicator::~Communicator() = default;

void Communicator::watchdog_start(int rank) {
  if (options_.watchdog_timeout_s > 0)
    watchdog_ = std::make_unique<CommWatchdog>(options_.watchdog_timeout_s, rank, backend());
}

CollectiveSignature Communicator::issue(CollectiveKind kind, size_t count, DType dtype, ReduceOp op, int root) {
  CollectiveSignature sig{kind, dtype, op, static_cast<int32_t>(root), count, seq_++};
  // The check is itself a collective on a separate channel: it lines up as long as every rank issues *some*
  // collective here, which is exactly the case where a mismatch would otherwise hang or corrupt silently.
  if (options_.check_collectives && size() > 1) collective_check_signatures(do_gather_signatures(sig));
  return sig;
}

template <typename F>
void Communicator::watched(const CollectiveSignature& sig, F&& body) {
  uint64_t token = watchdog_ ? watchdog_->begin(sig) : 0;
  try {
    body();
  } catch (...) {
    if (token) watchdog_->end(token);
    throw;
  }
  if (token) watchdog_->end(token);
}

void Communicator::allreduce(void* data, size_t count, DType dtype, ReduceOp op) {
  CollectiveSignature sig = issue(CollectiveKind::allreduce, count, dtype, op, 0);
  watched(sig, [&] {
    auto work = do_allreduce(data, count, dtype, op, false);
    if (work) work->wait();
  });
}

std::unique_ptr<CommWork> Communicator::allreduce_async(void* data, size_t count, DType dtype, ReduceOp op) {
  CollectiveSignature sig = issue(CollectiveKind::allreduce, count, dtype, op, 0);
  uint64_t token = watchdog_ ? watchdog_->begin(sig) : 0;
  std::unique_ptr<CommWork> work;
  try {
    work = do_allreduce(data, count, dtype, op, true);
  } catch (...) {
    if (token) watchdog_->end(token);
    throw;
  }
  return std::make_unique<WatchedWork>(std::move(work), watchdog_.get(), token);
}

void Communicator::broadcast(void* data, size_t count, DType dtype, int root) {
  if (root < 0 || root >= size())
    throw UsageError(fmt::format("broadcast: root {} is not a rank of this {}-rank job", root, size()));
  CollectiveSignature sig = issue(CollectiveKind::broadcast, count, dtype, ReduceOp::sum, root);
  watched(sig, [&] { do_broadcast(data, count, dtype, root); });
}

void Communicator::allgather(const void* send, void* recv, size_t count, DType dtype) {
  CollectiveSignature sig = issue(CollectiveKind::allgather, count, dtype, ReduceOp::sum, 0);
  watched(sig, [&] { do_allgather(send, recv, count, dtype); });
}

void Communicator::barrier() {
  CollectiveSignature sig = issue(CollectiveKind::barrier, 0, DType::u8, ReduceOp::sum, 0);
  watched(sig, [&] { do_barrier(); });
}

void Communicator::p2p_check(const char* op, int peer, int tag, bool any_source_ok) const {
  bool peer_ok = (peer >= 0 && peer < size()) || (any_source_ok && peer == k_comm_any_source);
  if (!peer_ok)
    throw UsageError(fmt::format("{}: rank {} is not a rank of this {}-rank job", op, peer, size()));
  if (tag < 0 || tag > k_comm_max_tag)
    throw UsageError(fmt::format("{}: tag {} is outside 0..{}", op, tag, k_comm_max_tag));
}

// The watchdog sees every blocking send/recv, so a peer that died or never answers ends the job with the op, the
// peer and the tag in the message instead of hanging it. iprobe never blocks and is not watched.
void Communicator::send(const void* data, size_t count, DType dtype, int dest, int tag) {
  p2p_check("send", dest, tag, false);
  // MPI_Send to oneself completes only if MPI buffers it, which OpenMPI's self transport does not even for a few
  // bytes (measured: it blocks forever), so it is refused rather than left to hang until the watchdog.
  if (dest == rank())
    throw UsageError(fmt::format("send: rank {} sending to itself would block forever under MPI", dest));
  uint64_t token = watchdog_ ? watchdog_->begin(comm_p2p_describe("send to", dest, tag, count, dtype)) : 0;
  try {
    do_send(data, count, dtype, dest, tag);
  } catch (...) {
    if (token) watchdog_->end(token);
    throw;
  }
  if (token) watchdog_->end(token);
}

CommMessage Communicator::recv(void* data, size_t count, DType dtype, int source, int tag) {
  p2p_check("recv", source, tag, true);
  uint64_t token = watchdog_ ? watchdog_->begin(comm_p2p_describe("recv from", source, tag, count, dtype)) : 0;
  CommMessage message;
  try {
    message = do_recv(data, count, dtype, source, tag);
  } catch (...) {
    if (token) watchdog_->end(token);
    throw;
  }
  if (token) watchdog_->end(token);
  return message;
}

std::optional<CommMessage> Communicator::iprobe(int source, int tag, DType dtype) {
  p2p_check("iprobe", source, tag, true);
  return do_iprobe(source, tag, dtype);
}

void Communicator::do_send(const void*, size_t, DType, int, int) {
  throw UsageError(fmt::format("communicator backend {} has no point-to-point messages (use mpi)", backend()));
}

CommMessage Communicator::do_recv(void*, size_t, DType, int, int) {
  throw UsageError(fmt::format("communicator backend {} has no point-to-point messages (use mpi)", backend()));
}

std::optional<CommMessage> Communicator::do_iprobe(int, int, DType) {
  throw UsageError(fmt::format("communicator backend {} has no point-to-point messages (use mpi)", backend()));
}

std::string comm_p2p_describe(const char* op, int peer, int tag, size_t count, DType dtype) {
  std::string who = peer == Communicator::k_comm_any_source ? std::string("any rank") : fmt::format("rank {}", peer);
  return fmt::format("{} {} (tag {}, {} x {})", op, who, tag, count, dtype_name(dtype));
}

std::vector<CollectiveSignature> Communicator::do_gather_signatures(const CollectiveSignature& mine) {
  std::vector<CollectiveSignature> all(size());
  do_allgather(&mine, all.data(), sizeof(CollectiveSignature), DType::u8);
  return all;
}

void collective_check_signatures(const std::vector<CollectiveSignature>& all) {
  bool same = true;
  for (auto& s : all) same = same && s == all.front();
  if (same) return;
  std::string message = "collective mismatch: ranks issued different collectives:";
  for (size_t r = 0; r < all.size(); ++r) message += fmt::format(" rank {}: {};", r, collective_describe(all[r]));
  message.pop_back();
  throw Error(ExitCode::failure, message);
}

std::string comm_broadcast_string(Communicator& comm, const std::string& text, int root) {
  int64_t length = static_cast<int64_t>(text.size());
  comm.broadcast(&length, 1, DType::i64, root);
  std::string out = comm.rank() == root ? text : std::string(static_cast<size_t>(length), '\0');
  if (length > 0) comm.broadcast(out.data(), static_cast<size_t>(length), DType::u8, root);
  return out;
}

std::vector<std::string> comm_allgather_string(Communicator& comm, const std::string& text) {
  int64_t length = static_cast<int64_t>(text.size());
  std::vector<int64_t> lengths(comm.size());
  comm.allgather(&length, lengths.data(), 1, DType::i64);
  int64_t max_length = 0;
  for (auto l : lengths) max_length = std::max(max_length, l);
  std::vector<std::string> out(comm.size());
  if (max_length == 0) return out;
  std::string padded(static_cast<size_t>(max_length), '\0');
  std::memcpy(padded.data(), text.data(), text.size());
  std::string all(static_cast<size_t>(max_length) * comm.size(), '\0');
  comm.allgather(padded.data(), all.data(), static_cast<size_t>(max_length), DType::u8);
  for (int r = 0; r < comm.size(); ++r) out[r] = all.substr(static_cast<size_t>(r * max_length), lengths[r]);
  return out;
}

int64_t comm_allreduce_int64(Communicator& comm, int64_t value, ReduceOp op) {
  comm.allreduce(&value, 1, DType::i64, op);
  return value;
}

}  // namespace s3e
