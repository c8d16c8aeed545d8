// work_queue_scenario.h — one work-queue run as a stage would do it (items that sleep for their cost in frames,
// serve() between frames, an optional stop from one rank), with the processed items gathered on every rank through
// collectives, so the same checks run under the fake world and under mpiexec.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "dist/work_queue.h"

namespace s3e::test {

// 40 items, 5..60 ms, skewed: few large, many small, in shuffled index order.
inline std::vector<double> work_queue_skewed_costs(int n = 40) {
  std::vector<double> costs(n);
  for (int i = 0; i < n; ++i) {
    double u = static_cast<double>((i * 37) % n) / (n - 1);
    costs[i] = std::round(5 + 55 * u * u * u);
  }
  return costs;
}

struct WorkQueueScenario {
  double ms_per_cost = 1.0;  // an item sleeps cost * ms_per_cost
  double frame_ms = 5;       // serve() between frames of this length
  int stop_rank = -1;        // this rank passes stop=true after finishing `stop_after` items
  int stop_after = 2;
};

struct WorkQueueOutcome {
  std::vector<std::vector<int64_t>> items_by_rank;  // gathered on every rank, in processing order
  std::vector<double> cost_by_rank;
  std::vector<int> stopped_by_rank;
  std::vector<WorkQueueEvent> events;  // rank 0's answers (dynamic mode), on rank 0 only
  bool serve_saw_stop = false;         // this rank's serve() returned true at some point
};

inline std::vector<std::vector<int64_t>> work_queue_gather(Communicator& comm, const std::vector<int64_t>& mine) {
  int64_t count = static_cast<int64_t>(mine.size());
  std::vector<int64_t> counts(comm.size());
  comm.allgather(&count, counts.data(), 1, DType::i64);
  int64_t longest = *std::max_element(counts.begin(), counts.end());
  std::vector<int64_t> padded(static_cast<size_t>(longest), -1), all(static_cast<size_t>(longest) * comm.size());
  std::copy(mine.begin(), mine.end(), padded.begin());
  if (longest > 0) comm.allgather(padded.data(), all.data(), static_cast<size_t>(longest), DType::i64);
  std::vector<std::vector<int64_t>> out(comm.size());
  for (int r = 0; r < comm.size(); ++r)
    out[r].assign(all.begin() + r * longest, all.begin() + r * longest + counts[r]);
  return out;
}

inline WorkQueueOutcome work_queue_run(Communicator& comm, const std::vector<double>& costs,
                                       WorkQueueOptions options, const WorkQueueScenario& scenario) {
  WorkQueueOutcome out;
  options.on_event = [&](const WorkQueueEvent& e) { out.events.push_back(e); };
  WorkQueue queue(comm, costs, options);
  std::vector<int64_t> processed;
  bool stop = false;
  while (auto item = queue.next(stop)) {
    processed.push_back(*item);
    // The item "works" for its cost, frame by frame, and lets rank 0 answer between frames.
    double left_ms = costs[*item] * scenario.ms_per_cost;
    while (left_ms > 0) {
      double frame = std::min(left_ms, scenario.frame_ms);
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(frame));
      left_ms -= frame;
      if (queue.serve(stop)) out.serve_saw_stop = true;
    }
    if (comm.rank() == scenario.stop_rank && static_cast<int>(processed.size()) >= scenario.stop_after) stop = true;
  }
  EXPECT_TRUE(queue.finished());
  EXPECT_EQ(queue.taken(), processed);
  EXPECT_FALSE(queue.next(stop).has_value()) << "next() after the end must stay empty";
  out.items_by_rank = work_queue_gather(comm, processed);
  for (auto& items : out.items_by_rank) {
    double total = 0;
    for (auto i : items) total += costs[i];
    out.cost_by_rank.push_back(total);
  }
  int32_t stopped = queue.stopped() ? 1 : 0;
  out.stopped_by_rank.assign(comm.size(), 0);
  comm.allgather(&stopped, out.stopped_by_rank.data(), 1, DType::i32);
  return out;
}

// Every item exactly once over all ranks.
inline void expect_each_item_once(const WorkQueueOutcome& out, size_t n) {
  std::vector<int64_t> all;
  for (auto& items : out.items_by_rank) all.insert(all.end(), items.begin(), items.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(n);
  for (size_t i = 0; i < n; ++i) expected[i] = static_cast<int64_t>(i);
  EXPECT_EQ(all, expected);
}

inline double busiest_over_mean(const std::vector<double>& cost_by_rank) {
  double total = 0, busiest = 0;
  for (double c : cost_by_rank) {
    total += c;
    busiest = std::max(busiest, c);
  }
  return busiest / (total / cost_by_rank.size());
}

// Rank 0's view of a stopped run: nothing handed out after the first "stop" answer, and the items processed are
// exactly those handed out, once each.
inline void expect_stop_honoured(const WorkQueueOutcome& out, size_t n) {
  auto first_stop = std::find_if(out.events.begin(), out.events.end(),
                                 [](const WorkQueueEvent& e) { return e.kind == WorkQueueEvent::Kind::stop; });
  ASSERT_NE(first_stop, out.events.end()) << "rank 0 never answered stop";
  for (auto it = first_stop; it != out.events.end(); ++it)
    EXPECT_NE(it->kind, WorkQueueEvent::Kind::item) << "item " << it->item << " handed to rank " << it->rank
                                                    << " after rank 0 answered stop";
  std::vector<int64_t> handed, processed;
  for (auto& e : out.events)
    if (e.kind == WorkQueueEvent::Kind::item) handed.push_back(e.item);
  for (auto& items : out.items_by_rank) processed.insert(processed.end(), items.begin(), items.end());
  std::sort(handed.begin(), handed.end());
  std::sort(processed.begin(), processed.end());
  EXPECT_EQ(processed, handed);
  EXPECT_LT(processed.size(), n) << "the stop came too late to cut the queue: the test proves nothing";
  for (size_t r = 0; r < out.stopped_by_rank.size(); ++r) EXPECT_EQ(out.stopped_by_rank[r], 1) << "rank " << r;
}

}  // namespace s3e::test
