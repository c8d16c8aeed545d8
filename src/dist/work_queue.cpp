#include "dist/work_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <thread>

#include "core/errors.h"

namespace s3e {

namespace {

// Message payloads are one int64 each (a fixed size, so a receive can never truncate).
// Request (rank r -> 0, tag_request): bit 0 = rank r's stop flag.
// Answer  (0 -> rank r, tag_answer):  an item index >= 0, or k_answer_empty / k_answer_stop.
// End     (0 -> rank r, tag_end):     1 when the run ended by a stop, else 0.
constexpr int64_t k_request_stop = 1;
constexpr int64_t k_answer_empty = -1;
constexpr int64_t k_answer_stop = -2;

uint64_t fnv1a(uint64_t h, const void* data, size_t bytes) {
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Sleeps between polls: short at first (an answer usually comes quickly), growing to `max_s` (the wait may last
// as long as the longest item, and 4 ranks share 2 cores here).
class PollBackoff {
 public:
  explicit PollBackoff(double max_s) : max_s_(std::max(max_s, 0.0005)) {}
  void sleep() {
    std::this_thread::sleep_for(std::chrono::duration<double>(delay_s_));
    delay_s_ = std::min(delay_s_ * 2, max_s_);
  }
  void reset() { delay_s_ = 0.0005; }

 private:
  double max_s_;
  double delay_s_ = 0.0005;
};

}  // namespace

std::vector<int64_t> work_queue_order(const std::vector<double>& costs) {
  std::vector<int64_t> order(costs.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return costs[a] > costs[b]; });
  return order;
}

std::vector<std::vector<int64_t>> work_queue_plan_static(const std::vector<double>& costs, int ranks) {
  if (ranks < 1) throw UsageError(fmt::format("work queue: rank count must be >= 1, got {}", ranks));
  std::vector<std::vector<int64_t>> plan(ranks);
  std::vector<double> load(ranks, 0.0);
  for (int64_t item : work_queue_order(costs)) {
    // min_element returns the first minimum: ties go to the lower rank, the same on every rank.
    int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    plan[r].push_back(item);
    load[r] += costs[item];
  }
  return plan;
}

WorkQueue::WorkQueue(Communicator& comm, std::vector<double> costs, WorkQueueOptions options)
    : comm_(comm), costs_(std::move(costs)), options_(std::move(options)) {
  for (size_t i = 0; i < costs_.size(); ++i)
    if (!std::isfinite(costs_[i]) || costs_[i] < 0)
      throw UsageError(fmt::format("work queue: item {} has cost {} (costs must be finite and >= 0)", i, costs_[i]));
  if (options_.tag_base < 0 || options_.tag_base + 2 > Communicator::k_comm_max_tag)
    throw UsageError(fmt::format("work queue: tag_base {} is outside 0..{}", options_.tag_base,
                                 Communicator::k_comm_max_tag - 2));
  tag_request_ = options_.tag_base;
  tag_answer_ = options_.tag_base + 1;
  tag_end_ = options_.tag_base + 2;

  if (comm_.size() > 1) {
    // Every rank must mean the same items: with different lists, an index would name different inputs on
    // different ranks (dynamic) or the static plans would overlap and leave gaps.
    uint64_t h = 14695981039346656037ull;
    int64_t n = static_cast<int64_t>(costs_.size());
    int64_t mode = static_cast<int64_t>(options_.mode);
    h = fnv1a(h, &n, sizeof(n));
    h = fnv1a(h, &mode, sizeof(mode));
    h = fnv1a(h, &options_.tag_base, sizeof(options_.tag_base));
    if (!costs_.empty()) h = fnv1a(h, costs_.data(), costs_.size() * sizeof(double));
    int64_t mine[2] = {n, static_cast<int64_t>(h)};
    std::vector<int64_t> all(2 * static_cast<size_t>(comm_.size()));
    comm_.allgather(mine, all.data(), 2, DType::i64);
    for (int r = 1; r < comm_.size(); ++r)
      if (all[2 * r] != all[0] || all[2 * r + 1] != all[1])
        throw UsageError(fmt::format("work queue: rank {} has {} items (hash {:016x}) but rank 0 has {} (hash "
                                     "{:016x}): every rank must pass the same items, costs, mode and tag_base",
                                     r, all[2 * r], static_cast<uint64_t>(all[2 * r + 1]), all[0],
                                     static_cast<uint64_t>(all[1])));
  }

  if (options_.mode == WorkQueueMode::static_lpt) {
    order_ = work_queue_plan_static(costs_, comm_.size())[comm_.rank()];
  } else {
    if (comm_.rank() == 0) order_ = work_queue_order(costs_);
    told_.assign(comm_.size(), false);
    ranks_untold_ = comm_.size() - 1;
  }
}

bool WorkQueue::poll_stop(bool stop_requested) const {
  return stop_requested || (options_.stop_flag && options_.stop_flag());
}

void WorkQueue::take(int64_t item) {
  taken_.push_back(item);
  taken_cost_ += costs_[item];
}

std::optional<int64_t> WorkQueue::next(bool stop_requested) {
  if (finished_) return std::nullopt;
  bool stop = poll_stop(stop_requested);

  if (options_.mode == WorkQueueMode::static_lpt) {
    stopped_ = stopped_ || stop;
    if (stopped_ || cursor_ >= order_.size()) {
      finished_ = true;
      return std::nullopt;
    }
    take(order_[cursor_]);
    return order_[cursor_++];
  }

  if (comm_.rank() == 0) {
    stopped_ = stopped_ || stop;
    // Answer the ranks already waiting before rank 0 starts on an item of its own: they asked first, so they get
    // the larger items, and none of them waits through rank 0's next item.
    serve_pending();
    if (!stopped_ && cursor_ < order_.size()) {
      int64_t item = order_[cursor_++];
      if (options_.on_event) options_.on_event(WorkQueueEvent{WorkQueueEvent::Kind::item, 0, item, costs_[item]});
      take(item);
      return item;
    }
    if (options_.on_event)
      options_.on_event(WorkQueueEvent{stopped_ ? WorkQueueEvent::Kind::stop : WorkQueueEvent::Kind::empty, 0, -1, 0});
    finish_root();
    return std::nullopt;
  }

  // A worker: one request, one answer. The blocking recv is watched: rank 0 answers within one frame or batch,
  // so only a dead or stalled rank 0 keeps it pending past the watchdog timeout.
  int64_t request = stop ? k_request_stop : 0;
  comm_.send(&request, 1, DType::i64, 0, tag_request_);
  int64_t answer = 0;
  comm_.recv(&answer, 1, DType::i64, 0, tag_answer_);
  if (answer >= 0) {
    if (answer >= item_count())
      throw Error(ExitCode::failure, fmt::format("work queue: rank 0 answered item {} of a {}-item queue", answer,
                                                 item_count()));
    take(answer);
    return answer;
  }
  if (answer != k_answer_empty && answer != k_answer_stop)
    throw Error(ExitCode::failure, fmt::format("work queue: rank 0 sent the unknown answer {}", answer));
  stopped_ = answer == k_answer_stop;
  finish_worker();
  return std::nullopt;
}

bool WorkQueue::serve(bool stop_requested) {
  if (finished_) return stopped_;
  stopped_ = stopped_ || poll_stop(stop_requested);
  if (options_.mode == WorkQueueMode::dynamic && comm_.rank() == 0) serve_pending();
  return stopped_;
}

void WorkQueue::serve_pending() {
  if (comm_.size() == 1) return;
  // Probe, then receive exactly the probed message: all of this runs on the one thread that receives on this
  // communicator, and messages from one source with one tag do not overtake each other, so the recv gets it.
  while (auto message = comm_.iprobe(Communicator::k_comm_any_source, tag_request_, DType::i64)) {
    int64_t request = 0;
    comm_.recv(&request, 1, DType::i64, message->source, tag_request_);
    answer(message->source, (request & k_request_stop) != 0);
  }
}

void WorkQueue::answer(int rank, bool rank_stop) {
  if (rank <= 0 || rank >= comm_.size() || told_[rank])
    throw Error(ExitCode::failure, fmt::format("work queue: rank {} sent a request after it was told the queue ended "
                                               "(two queues on one communicator with the same tag_base?)",
                                               rank));
  // A stop is sticky: from the first request carrying it, nothing more is handed out to anyone.
  stopped_ = stopped_ || rank_stop || poll_stop(false);
  int64_t reply;
  WorkQueueEvent event{WorkQueueEvent::Kind::item, rank, -1, 0};
  if (stopped_) {
    reply = k_answer_stop;
    event.kind = WorkQueueEvent::Kind::stop;
  } else if (cursor_ < order_.size()) {
    reply = order_[cursor_++];
    event.item = reply;
    event.cost = costs_[reply];
  } else {
    reply = k_answer_empty;
    event.kind = WorkQueueEvent::Kind::empty;
  }
  if (reply < 0) {
    told_[rank] = true;
    --ranks_untold_;
  }
  if (options_.on_event) options_.on_event(event);
  comm_.send(&reply, 1, DType::i64, rank, tag_answer_);
}

void WorkQueue::finish_root() {
  // Every other rank sends exactly one request more than the items it gets; keep answering until each of those
  // last requests was answered "empty" or "stop", so none is left unmatched. The wait is not a blocking recv: a
  // rank may legitimately spend longer than the watchdog timeout on its last item.
  PollBackoff backoff(options_.poll_max_s);
  while (ranks_untold_ > 0) {
    auto message = comm_.iprobe(Communicator::k_comm_any_source, tag_request_, DType::i64);
    if (!message) {
      stopped_ = stopped_ || poll_stop(false);
      backoff.sleep();
      continue;
    }
    int64_t request = 0;
    comm_.recv(&request, 1, DType::i64, message->source, tag_request_);
    answer(message->source, (request & k_request_stop) != 0);
    backoff.reset();
  }
  // Every item is done (each rank asked again only after finishing its previous one) and every rank is waiting
  // for this: the end message makes all ranks leave next() together and agree on stopped().
  int64_t ended_by_stop = stopped_ ? 1 : 0;
  for (int r = 1; r < comm_.size(); ++r) comm_.send(&ended_by_stop, 1, DType::i64, r, tag_end_);
  finished_ = true;
}

void WorkQueue::finish_worker() {
  // Polled, not a blocking recv: rank 0 may still be working on an item longer than the watchdog timeout.
  PollBackoff backoff(options_.poll_max_s);
  while (!comm_.iprobe(0, tag_end_, DType::i64)) backoff.sleep();
  int64_t ended_by_stop = 0;
  comm_.recv(&ended_by_stop, 1, DType::i64, 0, tag_end_);
  stopped_ = ended_by_stop != 0;
  finished_ = true;
}

}  // namespace s3e
