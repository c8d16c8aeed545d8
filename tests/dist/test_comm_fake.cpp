// The in-process fake communicator: collectives across threads, mismatch detection, fault injection, timeouts.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <numeric>
#include <thread>

#include "core/errors.h"
#include "dist/comm_fake.h"
#include "dist/comm_watchdog.h"
#include "fake_world_errors.h"
#include "p2p_scenario.h"

using namespace s3e;

namespace {
using test::what_of;
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

// ---- point-to-point ----

TEST(CommFakeP2p, SendRecvProbeAnySourceAndOrderWithinOneSource) {
  for (int size : {2, 3, 4}) {
    FakeWorld world(size);
    auto errors = world.run([&](Communicator& comm) {
      EXPECT_FALSE(comm.iprobe(Communicator::k_comm_any_source, 99, DType::i64).has_value());
      test::p2p_probe_receive_in_order(comm);
      EXPECT_EQ(comm.collectives_issued(), 0u) << "point-to-point messages are not collectives";
    });
    for (auto& e : errors) EXPECT_EQ(what_of(e), "");
    EXPECT_EQ(world.p2p_unmatched(), 0u);
  }
}

TEST(CommFakeP2p, LargeMessagesAreSynchronousSoCrossedSendsDeadlockAsUnderMpi) {
  // Both ranks send 1 MiB first: MPI's rendezvous protocol deadlocks here, and so must the fake (caught by the
  // timeout, naming the send); small messages are buffered and pass.
  FakeWorld world(2, CommOptions{0.3, false});
  auto errors = world.run([&](Communicator& comm) {
    int peer = 1 - comm.rank();
    std::vector<uint8_t> small(64, 1), small_in(64);
    comm.send(small.data(), small.size(), DType::u8, peer, 1);
    comm.recv(small_in.data(), small_in.size(), DType::u8, peer, 1);
    std::vector<float> big(1 << 18, 1.0f), big_in(1 << 18);
    comm.send(big.data(), big.size(), DType::f32, peer, 2);
    comm.recv(big_in.data(), big_in.size(), DType::f32, peer, 2);
  });
  std::string all = what_of(errors[0]) + " | " + what_of(errors[1]);
  EXPECT_NE(all.find("send to rank "), std::string::npos) << all;
  EXPECT_NE(all.find("(tag 2, 262144 x float32) on backend fake has not completed"), std::string::npos) << all;
}

TEST(CommFakeP2p, RecvWithoutSenderTimesOutNamingOpPeerAndTag) {
  FakeWorld world(2, CommOptions{0.2, false});
  auto start = std::chrono::steady_clock::now();
  auto errors = world.run([&](Communicator& comm) {
    if (comm.rank() == 1) {
      int64_t x = 0;
      comm.recv(&x, 1, DType::i64, 0, 7);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(800));  // alive but never sends
    }
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(what_of(errors[1]).find("recv from rank 0 (tag 7, 1 x int64) on backend fake has not completed after "
                                    "0.2 s"),
            std::string::npos)
      << what_of(errors[1]);
  EXPECT_LT(seconds, 4.0);
}

TEST(CommFakeP2p, PeerThatDiesEndsABlockedRecv) {
  FakeWorld world(3);  // no timeout: only the abort can end the wait
  auto errors = world.run([&](Communicator& comm) {
    if (comm.rank() == 2) throw DataError("rank 2 broke");
    int64_t x = 0;
    comm.recv(&x, 1, DType::i64, 2, 1);
  });
  for (int r : {0, 1}) EXPECT_NE(what_of(errors[r]).find("job aborted: error on rank 2: rank 2 broke"), std::string::npos);
}

TEST(CommFakeP2p, WrongDtypeLongMessageAndBadArgumentsAreErrors) {
  FakeWorld world(2, CommOptions{5, false});
  auto errors = world.run([&](Communicator& comm) {
    if (comm.rank() == 0) {
      int32_t a[4] = {1, 2, 3, 4};
      comm.send(a, 4, DType::i32, 1, 3);
      comm.send(a, 4, DType::i32, 1, 4);
      EXPECT_THROW(comm.send(a, 1, DType::i32, 2, 0), UsageError);   // no rank 2
      EXPECT_THROW(comm.send(a, 1, DType::i32, 1, -1), UsageError);  // negative tag
      EXPECT_THROW(comm.send(a, 1, DType::i32, Communicator::k_comm_any_source, 0), UsageError);
      EXPECT_THROW(comm.send(a, 1, DType::i32, 0, 0), UsageError);  // to itself
      EXPECT_THROW(comm.iprobe(0, Communicator::k_comm_max_tag + 1, DType::u8), UsageError);
    } else {
      float f[4];
      try {
        comm.recv(f, 4, DType::f32, 0, 3);
        ADD_FAILURE() << "dtype mismatch not detected";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("rank 0 sent 4 x int32, received as float32"), std::string::npos)
            << e.what();
      }
      int32_t two[2];
      try {
        comm.recv(two, 2, DType::i32, 0, 4);
        ADD_FAILURE() << "truncation not detected";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("longer than the 2-element buffer"), std::string::npos) << e.what();
      }
      // Drain both messages with the right buffers, so the world ends clean.
      int32_t four[4];
      comm.recv(four, 4, DType::i32, 0, 3);
      comm.recv(four, 4, DType::i32, 0, 4);
      EXPECT_EQ(four[3], 4);
    }
  });
  for (auto& e : errors) EXPECT_EQ(what_of(e), "");
  EXPECT_EQ(world.p2p_unmatched(), 0u);
}

TEST(CommWatchdogP2p, PendingRecvIsReportedWithOpPeerAndTag) {
  std::mutex mutex;
  std::string reported;
  {
    CommWatchdog watchdog(0.2, 3, "mpi", [&](const std::string& message) {
      std::lock_guard<std::mutex> lock(mutex);
      reported = message;
    });
    uint64_t done = watchdog.begin(comm_p2p_describe("send to", 1, 9, 1, DType::i64));
    watchdog.end(done);  // completed in time: never reported
    watchdog.begin(comm_p2p_describe("recv from", 0, 24001, 1, DType::i64));
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
  }
  EXPECT_NE(reported.find("recv from rank 0 (tag 24001, 1 x int64) on backend mpi has not completed after"),
            std::string::npos)
      << reported;
  EXPECT_EQ(reported.find("send to"), std::string::npos) << reported;
}
