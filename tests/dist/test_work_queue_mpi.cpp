// The work queue over real MPI ranks (run at 1, 2 and 4 ranks): every item exactly once in both modes, balance
// with items that sleep for their cost, a stop from one rank, and no message left unreceived at the end.
#include <gtest/gtest.h>

#include <cstdio>

#include "dist/comm_mpi.h"
#include "work_queue_scenario.h"

using namespace s3e;

namespace {

// After the queue: nothing may be waiting on its tags (every request answered, every end message received).
void expect_no_message_left(Communicator& comm) {
  comm.barrier();
  for (int tag = k_work_queue_tag_base; tag < k_work_queue_tag_base + 3; ++tag)
    EXPECT_FALSE(comm.iprobe(Communicator::k_comm_any_source, tag, DType::i64).has_value())
        << "rank " << comm.rank() << ": a message on tag " << tag << " was left unreceived";
}

}  // namespace

TEST(WorkQueueMpi, DynamicEveryItemOnceLargestFirstAndBalanced) {
  MpiCommunicator comm(CommOptions{60, false});
  auto costs = test::work_queue_skewed_costs();
  auto out = test::work_queue_run(comm, costs, {}, {});
  expect_no_message_left(comm);
  test::expect_each_item_once(out, costs.size());
  for (int s : out.stopped_by_rank) EXPECT_EQ(s, 0);
  double ratio = test::busiest_over_mean(out.cost_by_rank);
  EXPECT_LE(ratio, 1.25);
  if (comm.rank() == 0) {
    std::vector<int64_t> handed;
    for (auto& e : out.events)
      if (e.kind == WorkQueueEvent::Kind::item) handed.push_back(e.item);
    EXPECT_EQ(handed, work_queue_order(costs));
    std::printf("[ mpi %d ranks ] busiest/mean cost %.3f, per rank:", comm.size(), ratio);
    for (double c : out.cost_by_rank) std::printf(" %.0f", c);
    std::printf("\n");
  }
}

TEST(WorkQueueMpi, StaticModeFollowsThePlan) {
  MpiCommunicator comm(CommOptions{60, false});
  auto costs = test::work_queue_skewed_costs();
  WorkQueueOptions options;
  options.mode = WorkQueueMode::static_lpt;
  auto out = test::work_queue_run(comm, costs, options, {0.0, 5, -1, 2});
  expect_no_message_left(comm);
  test::expect_each_item_once(out, costs.size());
  EXPECT_EQ(out.items_by_rank, work_queue_plan_static(costs, comm.size()));
}

TEST(WorkQueueMpi, StopFromTheLastRankEndsEveryRank) {
  MpiCommunicator comm(CommOptions{60, false});
  auto costs = test::work_queue_skewed_costs();
  auto out = test::work_queue_run(comm, costs, {}, {1.0, 5, comm.size() - 1, 2});
  expect_no_message_left(comm);
  for (int s : out.stopped_by_rank) EXPECT_EQ(s, 1);
  if (comm.rank() == 0) test::expect_stop_honoured(out, costs.size());
}

TEST(WorkQueueMpi, ConsecutiveQueuesOnOneCommunicator) {
  // The end handshake leaves nothing behind, so a second queue on the same tags starts clean.
  MpiCommunicator comm(CommOptions{60, false});
  for (int round = 0; round < 3; ++round) {
    std::vector<double> costs(7 + round, 1.0);
    auto out = test::work_queue_run(comm, costs, {}, {0.0, 5, -1, 2});
    test::expect_each_item_once(out, costs.size());
  }
  expect_no_message_left(comm);
}
