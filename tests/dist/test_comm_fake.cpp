// The in-process fake communicator: collectives across threads, mismatch detection, fault injection, timeouts.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>

#include "core/errors.h"
#include "dist/comm_fake.h"

using namespace s3e;

namespace {
std::string what_of(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
  return "";
}
}  // namespace

TEST(CommFake, CollectivesGiveTheReducedGatheredAndBroadcastValues) {
  for (int size : {1, 2, 3, 4}) {
    FakeWorld world(size);
    auto errors = world.run([&](Communicator& comm) {
      int r = comm.rank();
      std::vector<float> v(7);
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(r * 10 + i);
      comm.allreduce(v.data(), v.size(), DType::f32, ReduceOp::sum);
      for (size_t i = 0; i < v.size(); ++i)
        EXPECT_FLOAT_EQ(v[i], 10.0f * size * (size - 1) / 2 + size * static_cast<float>(i));
      int64_t m = r * 3 + 1;
      comm.allreduce(&m, 1, DType::i64, ReduceOp::max);
      EXPECT_EQ(m, (size - 1) * 3 + 1);
      double mean = r;
      comm.allreduce(&mean, 1, DType::f64, ReduceOp::mean);
      EXPECT_DOUBLE_EQ(mean, (size - 1) / 2.0);
      int32_t b[3] = {r, r, r};
      comm.broadcast(b, 3, DType::i32, size - 1);
      EXPECT_EQ(b[2], size - 1);
      std::vector<int32_t> all(size * 2);
      int32_t mine[2] = {r, -r};
      comm.allgather(mine, all.data(), 2, DType::i32);
      for (int q = 0; q < size; ++q) {
        EXPECT_EQ(all[2 * q], q);
        EXPECT_EQ(all[2 * q + 1], -q);
      }
      comm.barrier();
      EXPECT_EQ(comm.collectives_issued(), 6u);
    });
    for (auto& e : errors) EXPECT_EQ(what_of(e), "");
  }
}

TEST(CommFake, MismatchedCollectivesAreReportedOnEveryRank) {
  FakeWorld world(3);
  auto errors = world.run([&](Communicator& comm) {
    std::vector<float> v(8, 1.0f);
    comm.allreduce(v.data(), v.size(), DType::f32, ReduceOp::sum);
    if (comm.rank() == 2) comm.broadcast(v.data(), 7, DType::f32, 0);
    else comm.allreduce(v.data(), v.size(), DType::f32, ReduceOp::sum);
  });
  for (auto& e : errors) {
    std::string what = what_of(e);
    EXPECT_NE(what.find("collective mismatch"), std::string::npos) << what;
    EXPECT_NE(what.find("rank 2: broadcast #1 (7 x float32, root 0)"), std::string::npos) << what;
    EXPECT_NE(what.find("rank 0: allreduce #1 (8 x float32, sum)"), std::string::npos) << what;
  }
}

TEST(CommFake, InjectedFailureEndsTheOtherRanksInsteadOfHangingThem) {
  FakeWorld world(4, CommOptions{0, false}, {FakeFault{FakeFault::Kind::fail, 1, 2, 0}});
  auto errors = world.run([&](Communicator& comm) {
    float x = 1;
    for (int i = 0; i < 5; ++i) comm.allreduce(&x, 1, DType::f32, ReduceOp::sum);
  });
  EXPECT_NE(what_of(errors[1]).find("injected fault: rank 1 fails at allreduce #2"), std::string::npos);
  for (int r : {0, 2, 3}) EXPECT_NE(what_of(errors[r]).find("error on rank 1"), std::string::npos) << what_of(errors[r]);
}

TEST(CommFake, StalledRankTripsTheTimeoutNamingTheCollective) {
  FakeWorld world(2, CommOptions{0.2, false}, {FakeFault{FakeFault::Kind::stall, 1, 1, 2.0}});
  auto start = std::chrono::steady_clock::now();
  auto errors = world.run([&](Communicator& comm) {
    float x = 1;
    comm.allreduce(&x, 1, DType::f32, ReduceOp::sum);
    comm.broadcast(&x, 1, DType::f32, 0);
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(what_of(errors[0]).find("broadcast #1 (1 x float32, root 0) on backend fake has not completed"),
            std::string::npos)
      << what_of(errors[0]);
  EXPECT_NE(what_of(errors[1]).find("job aborted"), std::string::npos) << what_of(errors[1]);
  EXPECT_LT(seconds, 5.0);
}

TEST(CommFake, DelayShorterThanTimeoutIsTolerated) {
  FakeWorld world(2, CommOptions{5, false}, {FakeFault{FakeFault::Kind::stall, 0, 0, 0.1}});
  auto errors = world.run([&](Communicator& comm) {
    float x = 1;
    comm.allreduce(&x, 1, DType::f32, ReduceOp::sum);
    EXPECT_EQ(x, 2.0f);
  });
  for (auto& e : errors) EXPECT_EQ(what_of(e), "");
}

TEST(CommFake, StringHelpersRoundTrip) {
  FakeWorld world(3);
  auto errors = world.run([&](Communicator& comm) {
    std::string mine(static_cast<size_t>(comm.rank()) * 3, static_cast<char>('a' + comm.rank()));
    auto all = comm_allgather_string(comm, mine);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0], "");
    EXPECT_EQ(all[2], "cccccc");
    EXPECT_EQ(comm_broadcast_string(comm, comm.rank() == 1 ? "from one" : "x", 1), "from one");
  });
  for (auto& e : errors) EXPECT_EQ(what_of(e), "");
}
