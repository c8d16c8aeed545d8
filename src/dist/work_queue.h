// work_queue.h — hands out the items of a stage (indices 0..n-1, each with an estimated cost: frames, rows) to the
// ranks of a job, largest cost first, so that ranks finish at about the same time whatever the mix of item sizes.
//
// Usage (every rank; `stop` is the flag the signal handler sets):
//
//   s3e::WorkQueue queue(comm, costs);                       // collective: every rank passes the same costs
//   while (auto item = queue.next(stop)) {                   // nullopt: queue empty or stopped, on every rank
//     for (auto& frame : frames_of(*item)) {
//       process(frame);
//       if (queue.serve(stop)) { abandon(*item); break; }    // between frames: rank 0 answers waiting ranks
//     }
//   }
//   if (queue.stopped()) exit_for_requeue();                  // the same verdict on every rank (dynamic mode)
//
// Modes:
// - dynamic (default): rank 0 owns the queue and processes items too. Other ranks send a request and block until
//   rank 0 answers with the next item, "empty" or "stop". Rank 0 answers in next() and in serve() (one MPI_Iprobe
//   when nothing waits), so a waiting rank is answered within one frame or batch of rank 0's current item.
// - static_lpt: the assignment is precomputed identically on every rank by greedy longest-processing-time (largest
//   item to the least loaded rank), no messages at all. For tests and reproducible runs; it cannot react to
//   items that take longer than estimated, and a stop is seen only by the rank that asked (stopped() is local).
//
// Guarantees (dynamic mode):
// - Every item is handed out exactly once, in order of decreasing cost (ties: lower index first). With no stop,
//   every item is handed out; the items each rank got are in taken().
// - Stop: every request carries its rank's stop flag. From the first request (or rank 0 call) with the flag set,
//   rank 0 answers "stop" to every further request and hands out nothing more; each rank learns of it at its
//   next request. No per-item collective: nobody waits for the slowest item.
// - End: next() returns nullopt on a rank only after rank 0 has told every rank "empty"/"stop" and has itself
//   finished; rank 0 then sends each rank an end message carrying whether any rank stopped. So every rank leaves
//   the loop at about the same time (a collective right after it does not wait for a long item, which would trip
//   the watchdog), stopped() is identical on all ranks, and no message is left unmatched. At 1 rank: no messages.
// - Rules for the caller: call serve() at least every few seconds of work on rank 0 (far below the watchdog
//   timeout; once per frame or batch, or at most once a second, is plenty); issue no collective inside the loop;
//   run one queue at a time on a communicator (or give concurrent ones different tag_base).
// - Failure: a rank that dies takes the job down instead of hanging it. A rank blocked waiting for its answer is
//   in a watched recv (the watchdog aborts the job after CommOptions::watchdog_timeout_s, naming the op, rank 0
//   and the tag); the unwatched waits (rank 0 for the last requests, everyone for the end message, both legitimately
//   as long as the longest item) rely on the launcher: mpirun aborts the job when a rank exits abnormally; under
//   srun use --kill-on-bad-exit=1. Under the fake world a rank that throws aborts the world and every wait throws.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "dist/communicator.h"

namespace s3e {

enum class WorkQueueMode { dynamic, static_lpt };

// The queue's messages use tags tag_base (request), tag_base + 1 (answer) and tag_base + 2 (end).
constexpr int k_work_queue_tag_base = 24000;

// One answer rank 0 gave (dynamic mode), reported to WorkQueueOptions::on_event in the order given.
struct WorkQueueEvent {
  enum class Kind { item, empty, stop };
  Kind kind = Kind::item;
  int rank = 0;          // who asked (0: rank 0 itself)
  int64_t item = -1;     // Kind::item only
  double cost = 0;       // Kind::item only
};

struct WorkQueueOptions {
  WorkQueueMode mode = WorkQueueMode::dynamic;
  int tag_base = k_work_queue_tag_base;
  // Optional: polled whenever the queue would read the caller's flag and while it waits at the end of the queue,
  // ORed with the stop_requested arguments (so a signal that arrives during the final wait is still reported).
  std::function<bool()> stop_flag;
  // Optional, rank 0 in dynamic mode: every answer as it is given (logging which rank got which item; tests).
  std::function<void(const WorkQueueEvent&)> on_event;
  // Longest sleep between polls while waiting at the end of the queue (the wait starts at 0.5 ms and doubles).
  double poll_max_s = 0.02;
};

class WorkQueue {
 public:
  // Collective (except at 1 rank): the ranks compare (item count, cost hash, mode, tag_base) so that a rank that
  // listed different inputs fails here instead of processing the wrong items. Throws UsageError for a negative
  // or non-finite cost or a tag_base outside the communicator's tag range.
  WorkQueue(Communicator& comm, std::vector<double> costs, WorkQueueOptions options = {});

  // The next item for this rank, or nullopt when there is none left or the queue stopped (see the header comment:
  // on nullopt every rank has been told and the queue is finished). Calling it again after nullopt returns nullopt.
  std::optional<int64_t> next(bool stop_requested = false);
  // Rank 0 (dynamic): answers every request waiting now. Others: no messages. Returns stopped-so-far (rank 0:
  // true also when another rank asked to stop), so the caller may abandon the item in hand.
  bool serve(bool stop_requested = false);

  // Whether the run ended by a stop (dynamic mode: any rank's; identical on all ranks once next() returned nullopt).
  bool stopped() const { return stopped_; }
  bool finished() const { return finished_; }
  int64_t item_count() const { return static_cast<int64_t>(costs_.size()); }
  // The items this rank got, in the order it got them, and their summed cost.
  const std::vector<int64_t>& taken() const { return taken_; }
  double taken_cost() const { return taken_cost_; }

 private:
  void serve_pending();                  // rank 0: answer every request that is waiting
  void answer(int rank, bool rank_stop);  // rank 0: the next answer to `rank`
  void finish_root();                     // rank 0: serve until every rank was told, then send the end messages
  void finish_worker();                   // others: wait for the end message
  bool poll_stop(bool stop_requested) const;
  void take(int64_t item);

  Communicator& comm_;
  std::vector<double> costs_;
  WorkQueueOptions options_;
  int tag_request_, tag_answer_, tag_end_;
  std::vector<int64_t> order_;     // dynamic: every item by decreasing cost; static: this rank's items
  size_t cursor_ = 0;
  std::vector<bool> told_;         // rank 0: rank r has been answered "empty" or "stop"
  int ranks_untold_ = 0;
  bool stopped_ = false, finished_ = false;
  std::vector<int64_t> taken_;
  double taken_cost_ = 0;
};

// Items by decreasing cost, ties by increasing index: the order the queue hands them out.
std::vector<int64_t> work_queue_order(const std::vector<double>& costs);
// Greedy longest-processing-time: items in work_queue_order, each to the rank with the least cost so far (ties:
// the lower rank). Element r lists rank r's items in the order it processes them. What static_lpt mode uses.
std::vector<std::vector<int64_t>> work_queue_plan_static(const std::vector<double>& costs, int ranks);

}  // namespace s3e
