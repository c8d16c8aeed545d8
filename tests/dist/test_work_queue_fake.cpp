// The work queue under the in-process fake world: exactly-once, largest-first order, load balance with sleeping
// items, stop from one rank, static plans, the end handshake leaving no message behind, and failures that end the
// job instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/errors.h"
#include "dist/comm_fake.h"
#include "fake_world_errors.h"
#include "work_queue_scenario.h"

using namespace s3e;

namespace {

using test::what_of;

void expect_no_errors(const std::vector<std::exception_ptr>& errors) {
  for (size_t r = 0; r < errors.size(); ++r) EXPECT_EQ(what_of(errors[r]), "") << "rank " << r;
}

// Runs the scenario on every rank of a fake world; returns rank 0's outcome (gathered: it holds every rank's items).
test::WorkQueueOutcome run_fake(int ranks, const std::vector<double>& costs, WorkQueueOptions options,
                                test::WorkQueueScenario scenario, CommOptions comm_options = {}) {
  FakeWorld world(ranks, comm_options);
  std::vector<test::WorkQueueOutcome> outcomes(ranks);
  auto errors = world.run([&](Communicator& comm) {
    outcomes[comm.rank()] = test::work_queue_run(comm, costs, options, scenario);
  });
  expect_no_errors(errors);
  EXPECT_EQ(world.p2p_unmatched(), 0u) << "the queue left messages unreceived";
  return outcomes[0];
}

}  // namespace

TEST(WorkQueuePlan, OrderIsLargestFirstTiesByIndex) {
  EXPECT_EQ(work_queue_order({3, 5, 3, 0, 5}), (std::vector<int64_t>{1, 4, 0, 2, 3}));
  EXPECT_TRUE(work_queue_order({}).empty());
}

TEST(WorkQueuePlan, StaticPlanIsGreedyLongestProcessingTime) {
  // 5 -> r0, 4 -> r1, 3 -> r1 (4 < 5), 3 -> r0 (5 < 7), 3 -> r1 (7 < 8).
  auto plan = work_queue_plan_static({5, 4, 3, 3, 3}, 2);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0], (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(plan[1], (std::vector<int64_t>{1, 2, 4}));
  // More ranks than items: the extra ranks get nothing.
  auto sparse = work_queue_plan_static({1, 2}, 4);
  EXPECT_EQ(sparse[0], (std::vector<int64_t>{1}));
  EXPECT_EQ(sparse[1], (std::vector<int64_t>{0}));
  EXPECT_TRUE(sparse[2].empty() && sparse[3].empty());
  auto costs = test::work_queue_skewed_costs();
  for (int ranks : {2, 3, 4, 7}) {
    std::vector<double> load(ranks, 0);
    auto p = work_queue_plan_static(costs, ranks);
    for (int r = 0; r < ranks; ++r)
      for (auto i : p[r]) load[r] += costs[i];
    EXPECT_LE(test::busiest_over_mean(load), 1.25) << ranks << " ranks";
  }
}

TEST(WorkQueueFake, DynamicHandsOutEveryItemOnceLargestFirstAndBalances) {
  auto costs = test::work_queue_skewed_costs();
  auto order = work_queue_order(costs);
  for (int ranks : {1, 2, 3, 4}) {
    SCOPED_TRACE(::testing::Message() << ranks << " ranks");
    auto out = run_fake(ranks, costs, {}, {});
    test::expect_each_item_once(out, costs.size());
    // Rank 0 answered in decreasing cost, then one "empty" per rank (itself included).
    std::vector<int64_t> handed;
    int empties = 0;
    for (auto& e : out.events) {
      if (e.kind == WorkQueueEvent::Kind::item) handed.push_back(e.item);
      if (e.kind == WorkQueueEvent::Kind::empty) ++empties;
    }
    EXPECT_EQ(handed, order);
    EXPECT_EQ(empties, ranks);
    for (int s : out.stopped_by_rank) EXPECT_EQ(s, 0);
    double ratio = test::busiest_over_mean(out.cost_by_rank);
    EXPECT_LE(ratio, 1.25);
    std::printf("[ fake %d ranks ] busiest/mean cost %.3f, per rank:", ranks, ratio);
    for (double c : out.cost_by_rank) std::printf(" %.0f", c);
    std::printf("\n");
  }
}

TEST(WorkQueueFake, StaticModeFollowsThePlanWithoutMessages) {
  auto costs = test::work_queue_skewed_costs();
  for (int ranks : {1, 2, 4}) {
    WorkQueueOptions options;
    options.mode = WorkQueueMode::static_lpt;
    auto out = run_fake(ranks, costs, options, {0.0, 5, -1, 2});
    test::expect_each_item_once(out, costs.size());
    EXPECT_EQ(out.items_by_rank, work_queue_plan_static(costs, ranks));
    EXPECT_TRUE(out.events.empty()) << "static mode gives no answers";
  }
}

TEST(WorkQueueFake, StaticModeStopIsLocalToTheRankThatAsked) {
  auto costs = test::work_queue_skewed_costs();
  WorkQueueOptions options;
  options.mode = WorkQueueMode::static_lpt;
  auto out = run_fake(2, costs, options, {0.0, 5, 1, 2});
  EXPECT_EQ(out.items_by_rank[1].size(), 2u);
  EXPECT_EQ(out.items_by_rank[0], work_queue_plan_static(costs, 2)[0]);
  EXPECT_EQ(out.stopped_by_rank, (std::vector<int>{0, 1}));
}

TEST(WorkQueueFake, StopFromOneRankEndsEveryRankAndNothingIsHandedOutAfter) {
  auto costs = test::work_queue_skewed_costs();
  for (int ranks : {1, 2, 4}) {
    for (int stop_rank : {0, ranks - 1}) {
      SCOPED_TRACE(::testing::Message() << ranks << " ranks, stop from rank " << stop_rank);
      auto out = run_fake(ranks, costs, {}, {1.0, 5, stop_rank, 2});
      test::expect_stop_honoured(out, costs.size());
    }
  }
}

TEST(WorkQueueFake, StopFlagCallbackReachesRankZeroWhileItServes) {
  // Rank 1's signal flag flips after its second item; rank 0, inside one long item, learns it from rank 1's next
  // request and serve() returns true so rank 0 can abandon that item.
  auto costs = test::work_queue_skewed_costs();
  FakeWorld world(2, CommOptions{20, false});  // a failed assertion on one rank must not hang the other
  std::atomic<bool> flag{false};
  std::vector<int> processed(2, 0);
  bool rank0_saw_stop = false;
  auto errors = world.run([&](Communicator& comm) {
    WorkQueueOptions options;
    if (comm.rank() == 1) options.stop_flag = [&] { return flag.load(); };
    WorkQueue queue(comm, costs, options);
    while (auto item = queue.next()) {
      ++processed[comm.rank()];
      if (comm.rank() == 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (processed[1] == 2) flag = true;
        continue;
      }
      auto start = std::chrono::steady_clock::now();
      while (!queue.serve()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ASSERT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0)
            << "rank 0's serve() never reported rank 1's stop";
      }
      rank0_saw_stop = true;
    }
    EXPECT_TRUE(queue.stopped()) << "rank " << comm.rank();
  });
  expect_no_errors(errors);
  EXPECT_TRUE(rank0_saw_stop);
  EXPECT_EQ(processed[0], 1);
  EXPECT_EQ(processed[1], 2);
  EXPECT_EQ(world.p2p_unmatched(), 0u);
}

TEST(WorkQueueFake, EmptyQueueAndMoreRanksThanItems) {
  for (int ranks : {1, 3}) {
    auto out = run_fake(ranks, {}, {}, {});
    for (auto& items : out.items_by_rank) EXPECT_TRUE(items.empty());
  }
  auto out = run_fake(4, {7, 3}, {}, {});
  test::expect_each_item_once(out, 2);
}

TEST(WorkQueueFake, WaitsLongerThanTheWatchdogTimeoutAreFineWhileRankZeroServes) {
  // Timeout 0.3 s; rank 0's items take 1 s but it serves every 10 ms, and the others wait for the end message
  // (polled) while rank 0 finishes its last long item: nothing may time out.
  std::vector<double> costs{1000, 1000, 1, 1, 1, 1};
  auto out = run_fake(3, costs, {}, {1.0, 10, -1, 2}, CommOptions{0.3, false});
  test::expect_each_item_once(out, costs.size());
}

TEST(WorkQueueFake, RankZeroThatNeverServesTripsTheWaitingRanksTimeout) {
  FakeWorld world(2, CommOptions{0.3, false});
  auto start = std::chrono::steady_clock::now();
  auto errors = world.run([&](Communicator& comm) {
    WorkQueue queue(comm, {50, 50, 50, 50});
    while (auto item = queue.next()) {
      // Rank 0 works 1.5 s without calling serve(): a bug the watchdog must turn into an error, not a hang.
      std::this_thread::sleep_for(std::chrono::milliseconds(comm.rank() == 0 ? 1500 : 10));
    }
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(what_of(errors[1]).find("recv from rank 0 (tag 24001, 1 x int64) on backend fake has not completed"),
            std::string::npos)
      << what_of(errors[1]);
  EXPECT_NE(what_of(errors[0]).find("job aborted: error on rank 1"), std::string::npos) << what_of(errors[0]);
  EXPECT_LT(seconds, 6.0);
}

TEST(WorkQueueFake, ARankThatDiesEndsEveryRankInsteadOfHangingIt) {
  for (int dead : {0, 2}) {
    FakeWorld world(4);  // no timeout: only the abort can end the others' waits
    auto start = std::chrono::steady_clock::now();
    auto errors = world.run([&](Communicator& comm) {
      WorkQueue queue(comm, test::work_queue_skewed_costs());
      int n = 0;
      while (auto item = queue.next()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        queue.serve();
        if (comm.rank() == dead && ++n == 2) throw DataError("item " + std::to_string(*item) + " is corrupt");
      }
    });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(what_of(errors[dead]).find("is corrupt"), std::string::npos);
    for (int r = 0; r < 4; ++r) {
      if (r == dead) continue;
      EXPECT_NE(what_of(errors[r]).find("job aborted: error on rank " + std::to_string(dead)), std::string::npos)
          << "rank " << r << ": " << what_of(errors[r]);
    }
    EXPECT_LT(seconds, 5.0);
  }
}

TEST(WorkQueueFake, RanksWithDifferentItemListsAreRefused) {
  FakeWorld world(3);
  auto errors = world.run([&](Communicator& comm) {
    std::vector<double> costs{1, 2, 3};
    if (comm.rank() == 2) costs[1] = 2.5;
    WorkQueue queue(comm, costs);
  });
  for (auto& e : errors)
    EXPECT_NE(what_of(e).find("work queue: rank 2 has 3 items"), std::string::npos) << what_of(e);
}

TEST(WorkQueueFake, BadCostsAndTagsAreUsageErrors) {
  FakeWorld world(1);
  auto errors = world.run([&](Communicator& comm) {
    EXPECT_THROW(WorkQueue(comm, {1, -1}), UsageError);
    EXPECT_THROW(WorkQueue(comm, {1, std::nan("")}), UsageError);
    WorkQueueOptions options;
    options.tag_base = Communicator::k_comm_max_tag - 1;
    EXPECT_THROW(WorkQueue(comm, {1}, options), UsageError);
  });
  expect_no_errors(errors);
}
