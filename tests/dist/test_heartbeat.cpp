// dist/heartbeat.h: ranks (threads of the fake world, real TCP on this host) exchange heartbeats; a rank that goes
// silent is named, with its host, by the rank that watches it, after the timeout and not before; a rank that
// finishes (goodbye) or runs healthy is never reported; the config keys reach the communicator options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "core/config.h"
#include "core/errors.h"
#include "dist/comm_config.h"
#include "dist/comm_fake.h"
#include "dist/heartbeat.h"

using namespace s3e;

namespace {

using Clock = std::chrono::steady_clock;

struct Report {
  int by = -1, lost = -1;
  std::string message;
  double after_s = 0;  // since the scenario's reference time
};

// Collects the reports of every rank of a world (on_lost runs on the heartbeat threads).
struct Reports {
  std::mutex mutex;
  std::vector<Report> all;
  Clock::time_point since = Clock::now();
  HeartbeatOptions options_for(int rank, double interval_s, double timeout_s) {
    HeartbeatOptions o;
    o.interval_s = interval_s;
    o.timeout_s = timeout_s;
    o.on_lost = [this, rank](int lost, const std::string& message) {
      std::lock_guard<std::mutex> lock(mutex);
      all.push_back({rank, lost, message, std::chrono::duration<double>(Clock::now() - since).count()});
    };
    return o;
  }
  std::vector<Report> take() {
    std::lock_guard<std::mutex> lock(mutex);
    return all;
  }
};

std::string this_host() {
  char name[256] = {0};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

void expect_no_errors(const std::vector<std::exception_ptr>& errors) {
  for (size_t r = 0; r < errors.size(); ++r) {
    if (!errors[r]) continue;
    try {
      std::rethrow_exception(errors[r]);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "rank " << r << " threw: " << e.what();
    }
  }
}

}  // namespace

TEST(Heartbeat, HealthyRanksAreNeverReportedAndWatchTheStar) {
  Reports reports;
  FakeWorld world(3);
  expect_no_errors(world.run([&](Communicator& comm) {
    Heartbeat hb(comm, reports.options_for(comm.rank(), 0.1, 1.0));
    if (comm.rank() == 0)
      EXPECT_EQ(hb.watched(), (std::vector<int>{1, 2}));
    else
      EXPECT_EQ(hb.watched(), (std::vector<int>{0}));
    EXPECT_EQ(hb.hosts(), std::vector<std::string>(3, this_host()));
    sleep_s(3.0);  // three timeouts of steady heartbeats
    comm.barrier();
  }));
  EXPECT_TRUE(reports.take().empty()) << reports.take()[0].message;
}

TEST(Heartbeat, SilentRankIsNamedWithItsHostByRankZeroAfterTheTimeout) {
  Reports reports;
  const double timeout = 1.0;
  FakeWorld world(3);
  expect_no_errors(world.run([&](Communicator& comm) {
    Heartbeat hb(comm, reports.options_for(comm.rank(), 0.1, timeout));
    comm.barrier();
    if (comm.rank() == 0) reports.since = Clock::now();
    comm.barrier();
    if (comm.rank() == 2) hb.pause_sending(true);  // rank 2 hangs as a cut-off host would: silent, still reading
    sleep_s(timeout + 2.0);
    comm.barrier();
    hb.pause_sending(false);
  }));
  auto all = reports.take();
  ASSERT_EQ(all.size(), 1u) << (all.empty() ? "no report" : all[1].message);
  EXPECT_EQ(all[0].by, 0);
  EXPECT_EQ(all[0].lost, 2);
  EXPECT_NE(all[0].message.find("lost rank 2 (host " + this_host() + "): no heartbeat for "), std::string::npos)
      << all[0].message;
  EXPECT_GE(all[0].after_s, timeout);
  EXPECT_LE(all[0].after_s, timeout + 1.5);
}

TEST(Heartbeat, SilentRankZeroIsNamedByEveryOtherRank) {
  Reports reports;
  FakeWorld world(3);
  expect_no_errors(world.run([&](Communicator& comm) {
    Heartbeat hb(comm, reports.options_for(comm.rank(), 0.1, 0.8));
    comm.barrier();
    if (comm.rank() == 0) hb.pause_sending(true);
    sleep_s(2.5);
    comm.barrier();
  }));
  auto all = reports.take();
  ASSERT_EQ(all.size(), 2u);
  std::set<int> by;
  for (auto& r : all) {
    by.insert(r.by);
    EXPECT_EQ(r.lost, 0);
    EXPECT_NE(r.message.find("lost rank 0 (host " + this_host() + ")"), std::string::npos) << r.message;
  }
  EXPECT_EQ(by, (std::set<int>{1, 2}));
}

TEST(Heartbeat, FinishedRankSaysGoodbyeAndIsNotLost) {
  Reports reports;
  FakeWorld world(2);
  expect_no_errors(world.run([&](Communicator& comm) {
    {
      Heartbeat hb(comm, reports.options_for(comm.rank(), 0.1, 0.6));
      comm.barrier();
      if (comm.rank() == 1) return;  // rank 1 is done; its heartbeat says goodbye
      sleep_s(2.0);                  // rank 0 works on, three timeouts long
    }
  }));
  EXPECT_TRUE(reports.take().empty()) << reports.take()[0].message;
}

TEST(Heartbeat, ConnectionClosedWithoutGoodbyeCountsOnlyAfterTheTimeout) {
  // A killed process closes its socket without a goodbye. That alone is not reported (the launcher ends the job
  // for a dead rank, with that rank's own error first); only silence for the timeout is.
  Reports reports;
  const double timeout = 1.2;
  FakeWorld world(2);
  expect_no_errors(world.run([&](Communicator& comm) {
    auto hb = std::make_unique<Heartbeat>(comm, reports.options_for(comm.rank(), 0.1, timeout));
    comm.barrier();
    if (comm.rank() == 0) reports.since = Clock::now();
    comm.barrier();
    if (comm.rank() == 1) {
      hb->pause_sending(true);  // no goodbye
      hb.reset();               // socket closed
      return;
    }
    sleep_s(timeout + 1.5);
  }));
  auto all = reports.take();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].by, 0);
  EXPECT_EQ(all[0].lost, 1);
  EXPECT_GE(all[0].after_s, timeout);
}

TEST(Heartbeat, OneRankStartsNothing) {
  FakeWorld world(1);
  expect_no_errors(world.run([&](Communicator& comm) {
    HeartbeatOptions o;
    o.interval_s = 0.1;
    o.timeout_s = 0.05;  // would be refused with several ranks: nothing is checked or started with one
    Heartbeat hb(comm, o);
    EXPECT_TRUE(hb.watched().empty());
    EXPECT_EQ(comm.collectives_issued(), 0u);
  }));
}

TEST(Heartbeat, TimeoutMustExceedTwoIntervals) {
  FakeWorld world(2);
  auto errors = world.run([&](Communicator& comm) {
    HeartbeatOptions o;
    o.interval_s = 1;
    o.timeout_s = 2;
    Heartbeat hb(comm, o);
  });
  for (auto& e : errors) EXPECT_THROW(std::rethrow_exception(e), UsageError);
}

TEST(Heartbeat, ConfigKeysReachTheCommunicatorOptions) {
  ConfigSchema schema;
  comm_add_config(schema);
  CommOptions d = comm_options_from_config(config_resolve(schema, {}, {}));
  EXPECT_DOUBLE_EQ(d.heartbeat_interval_s, 2);
  EXPECT_DOUBLE_EQ(d.heartbeat_timeout_s, 60);
  CommOptions o = comm_options_from_config(
      config_resolve(schema, {}, {{"dist.heartbeat_s", "0.5"}, {"dist.heartbeat_timeout_s", "4"}}));
  EXPECT_DOUBLE_EQ(o.heartbeat_interval_s, 0.5);
  EXPECT_DOUBLE_EQ(o.heartbeat_timeout_s, 4);
  EXPECT_THROW(comm_options_from_config(
                   config_resolve(schema, {}, {{"dist.heartbeat_s", "3"}, {"dist.heartbeat_timeout_s", "5"}})),
               UsageError);
  // Off: any timeout is accepted, since nothing runs.
  EXPECT_DOUBLE_EQ(comm_options_from_config(config_resolve(schema, {}, {{"dist.heartbeat_s", "0"},
                                                                        {"dist.heartbeat_timeout_s", "0"}}))
                       .heartbeat_interval_s,
                   0);
  // Communicators built by hand keep no heartbeat unless they ask.
  EXPECT_DOUBLE_EQ(CommOptions{}.heartbeat_interval_s, 0);
}
