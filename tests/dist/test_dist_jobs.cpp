// Whole-job behaviour: `s3editor dist-selftest` under its own mpiexec, as a user's job would run.
#include <gtest/gtest.h>

#include <chrono>

#include "common/test_util.h"

using namespace s3e;

namespace {

struct Timed {
  test::CommandResult result;
  double seconds;
};

Timed run_job(int ranks, const std::string& args) {
  auto start = std::chrono::steady_clock::now();
  Timed t{test::run_s3editor_mpi(ranks, "dist-selftest " + args + " --log-level warn"), 0};
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

std::string line_after(const std::string& output, const std::string& key) {
  auto at = output.find(key + " ");
  if (at == std::string::npos) return "";
  auto end = output.find('\n', at);
  return output.substr(at + key.size() + 1, end - at - key.size() - 1);
}

// How soon a failing job must end. It has to separate "aborted at once" from the slow alternatives only: the stalled
// rank sleeps 120 s, the default watchdog waits 600 s. Not tighter: under ctest -j 2 on 2 cores a job of 2-4 ranks
// starting the torch-linked binary takes several seconds (the throw test's two jobs: 11.1 s idle, 11.8 s at load 4).
constexpr double k_prompt_end_s = 90.0;

}  // namespace

TEST(DistJobs, OneRankThrowingBringsEveryRankDownQuickly) {
  for (int ranks : {2, 4}) {
    test::TempDir tmp("throw");
    Timed t = run_job(ranks, "throw --run-dir " + tmp.path().string());
    EXPECT_NE(t.result.exit_code, 0) << t.result.output;
    EXPECT_LT(t.seconds, k_prompt_end_s);
    EXPECT_NE(t.result.output.find("error on rank " + std::to_string(ranks - 1) +
                                   " (dist-selftest): injected failure"),
              std::string::npos)
        << t.result.output;
  }
}

TEST(DistJobs, StalledRankTripsTheWatchdog) {
  test::TempDir tmp("stall");
  Timed t = run_job(2, "stall --watchdog-timeout 2 --run-dir " + tmp.path().string());
  EXPECT_NE(t.result.exit_code, 0);
  EXPECT_LT(t.seconds, k_prompt_end_s);  // the stalled rank sleeps 120 s: only the watchdog's abort ends it this early
  EXPECT_NE(t.result.output.find("error on rank 0 (watchdog): collective allreduce #1 (8 x float32, sum) on "
                                 "backend mpi has not completed"),
            std::string::npos)
      << t.result.output;
}

TEST(DistJobs, CollectiveMismatchIsReportedInDebugMode) {
  test::TempDir tmp("mismatch");
  Timed t = run_job(2, "mismatch --check-collectives --watchdog-timeout 20 --run-dir " + tmp.path().string());
  EXPECT_NE(t.result.exit_code, 0);
  EXPECT_NE(t.result.output.find("collective mismatch: ranks issued different collectives: rank 0: allreduce #2 "
                                 "(8 x float32, sum); rank 1: broadcast #2 (7 x float32, root 0)"),
            std::string::npos)
      << t.result.output;
}

TEST(DistJobs, InterruptedAndResumedRunEndsBitIdentical) {
  for (int ranks : {1, 2, 4}) {
    test::TempDir full("full"), split("split");
    Timed a = run_job(ranks, "train --steps 24 --run-dir " + full.path().string());
    ASSERT_EQ(a.result.exit_code, 0) << a.result.output;
    Timed b1 = run_job(ranks, "train --steps 24 --stop-after 12 --run-dir " + split.path().string());
    ASSERT_EQ(b1.result.exit_code, 0) << b1.result.output;
    EXPECT_EQ(line_after(b1.result.output, "steps-done"), "12");
    Timed b2 = run_job(ranks, "train --steps 24 --run-dir " + split.path().string());
    ASSERT_EQ(b2.result.exit_code, 0) << b2.result.output;
    EXPECT_EQ(line_after(b2.result.output, "resumed-from"), "12");
    std::string sha = line_after(a.result.output, "final-weights-sha256");
    EXPECT_EQ(sha.size(), 64u);
    EXPECT_EQ(line_after(b2.result.output, "final-weights-sha256"), sha) << ranks << " ranks";
    // The interruption happened mid-epoch (203 samples, 5 per rank per step): the sampler state mattered.
    EXPECT_NE(line_after(b1.result.output, "final-weights-sha256"), sha);
  }
}

TEST(DistJobs, ProcessKilledDuringCheckpointWriteLeavesThePreviousOneLoadable) {
  test::TempDir full("full"), killed("killed");
  Timed a = run_job(2, "train --steps 16 --run-dir " + full.path().string());
  ASSERT_EQ(a.result.exit_code, 0) << a.result.output;
  Timed k = run_job(2, "train --steps 16 --kill-at-step 12 --fail-rank 1 --run-dir " + killed.path().string());
  EXPECT_NE(k.result.exit_code, 0) << k.result.output;
  EXPECT_TRUE(std::filesystem::exists(killed / "ckpt" / "step_00000012.tmp"));
  EXPECT_FALSE(std::filesystem::exists(killed / "ckpt" / "step_00000012"));
  Timed r = run_job(2, "train --steps 16 --run-dir " + killed.path().string());
  ASSERT_EQ(r.result.exit_code, 0) << r.result.output;
  EXPECT_EQ(line_after(r.result.output, "resumed-from"), "8");
  EXPECT_EQ(line_after(r.result.output, "final-weights-sha256"), line_after(a.result.output, "final-weights-sha256"));
}
