// Checkpoint commit and resume logic with the fake communicator (ranks are threads sharing one folder).
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "dist/checkpoint.h"
#include "dist/comm_fake.h"
#include "dist/sha256.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

void expect_ok(const std::vector<std::exception_ptr>& errors) {
  for (auto& e : errors) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const std::exception& x) {
      ADD_FAILURE() << x.what();
    }
  }
}

void write_step(FakeWorld& world, const fs::path& dir, int64_t step, int keep = 3) {
  expect_ok(world.run([&](Communicator& comm) {
    CheckpointWriter writer(comm, dir, step, keep);
    writer.write_rank_file("state.txt", "rank " + std::to_string(comm.rank()) + " step " + std::to_string(step));
    if (comm.rank() == 0) writer.write_shared_file("weights.bin", std::string(1000, static_cast<char>(step)));
    writer.commit("[a]\nb = 1\n", "{\"epoch\": 2}");
  }));
}

// Opens the latest checkpoint on every rank of `world`; returns the step rank 0 got (-1: none) and checks agreement.
int64_t open_step(FakeWorld& world, const fs::path& dir) {
  std::vector<int64_t> steps(world.size(), -2);
  expect_ok(world.run([&](Communicator& comm) {
    auto c = checkpoint_open_latest(comm, dir);
    steps[comm.rank()] = c ? c->step() : -1;
    if (c) {
      EXPECT_EQ(c->read_rank_file("state.txt"), "rank " + std::to_string(comm.rank()) + " step " + std::to_string(c->step()));
      EXPECT_EQ(c->read_shared_file("weights.bin"), std::string(1000, static_cast<char>(c->step())));
      EXPECT_EQ(c->config(), "[a]\nb = 1\n");
      EXPECT_EQ(c->meta_json(), "{\"epoch\":2}");
      EXPECT_THROW(c->read_rank_file("missing.txt"), DataError);
    }
  }));
  for (auto s : steps) EXPECT_EQ(s, steps[0]);
  return steps[0];
}

}  // namespace

TEST(Checkpoint, CommitPublishesManifestWithHashesAndLatest) {
  test::TempDir tmp("ckpt");
  FakeWorld world(3);
  EXPECT_EQ(open_step(world, tmp.path()), -1);
  write_step(world, tmp.path(), 10);
  fs::path folder = tmp / "step_00000010";
  EXPECT_TRUE(fs::exists(folder / "MANIFEST.json"));
  EXPECT_FALSE(fs::exists(tmp / "step_00000010.tmp"));
  EXPECT_EQ(test::read_file(tmp / "latest"), "step_00000010\n");
  std::string manifest = test::read_file(folder / "MANIFEST.json");
  EXPECT_NE(manifest.find(sha256_file(folder / "rank00002.state.txt")), std::string::npos);
  EXPECT_NE(manifest.find("\"world_size\": 3"), std::string::npos);
  EXPECT_EQ(open_step(world, tmp.path()), 10);
}

TEST(Checkpoint, IncompleteOrCorruptNewestFallsBackToPrevious) {
  test::TempDir tmp("ckpt");
  FakeWorld world(2);
  write_step(world, tmp.path(), 1);
  write_step(world, tmp.path(), 2);
  write_step(world, tmp.path(), 3);
  // A killed writer leaves a temporary folder: never a candidate.
  fs::create_directories(tmp / "step_00000004.tmp");
  std::ofstream(tmp / "step_00000004.tmp" / "rank00000.state.txt") << "partial";
  EXPECT_EQ(open_step(world, tmp.path()), 3);
  // A flipped byte in one rank's file of step 3: every rank falls back together to step 2.
  {
    std::fstream f(tmp / "step_00000003" / "rank00001.state.txt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('R');  // same size, different bytes: only the sha256 can tell
  }
  EXPECT_EQ(open_step(world, tmp.path()), 2);
  // A published folder without manifest (e.g. copied by hand) is skipped too.
  fs::remove(tmp / "step_00000002" / "MANIFEST.json");
  EXPECT_EQ(open_step(world, tmp.path()), 1);
  // Resuming from step 1 and committing step 2 again replaces the abandoned future (steps 2 and 3).
  write_step(world, tmp.path(), 2);
  EXPECT_EQ(checkpoint_list_steps(tmp.path()), (std::vector<int64_t>{1, 2}));
  EXPECT_FALSE(fs::exists(tmp / "step_00000004.tmp"));
  EXPECT_EQ(open_step(world, tmp.path()), 2);
}

TEST(Checkpoint, KeepsTheNewestN) {
  test::TempDir tmp("ckpt");
  FakeWorld world(2);
  for (int64_t s = 1; s <= 5; ++s) write_step(world, tmp.path(), s * 100, 2);
  EXPECT_EQ(checkpoint_list_steps(tmp.path()), (std::vector<int64_t>{400, 500}));
}

TEST(Checkpoint, OtherWorldSizeIsAUsageErrorNotAFallback) {
  test::TempDir tmp("ckpt");
  FakeWorld four(4);
  write_step(four, tmp.path(), 7);
  FakeWorld two(2);
  auto errors = two.run([&](Communicator& comm) { checkpoint_open_latest(comm, tmp.path()); });
  for (auto& e : errors) {
    ASSERT_TRUE(e);
    try {
      std::rethrow_exception(e);
    } catch (const UsageError& x) {
      EXPECT_NE(std::string(x.what()).find("written by 4 ranks, this job has 2"), std::string::npos) << x.what();
    }
  }
}

// A caller whose state does not depend on the rank count (training with a fixed global batch) may resume on fewer
// or more ranks: every rank reads the writer's rank files it wants, and rank 0 checks all of them.
TEST(Checkpoint, AnyWorldOpensAnotherRankCountAndVerifiesEveryRankFile) {
  test::TempDir tmp("ckpt");
  FakeWorld four(4);
  write_step(four, tmp.path(), 5);
  write_step(four, tmp.path(), 9);
  FakeWorld two(2);
  std::vector<int64_t> steps(2, -1);
  expect_ok(two.run([&](Communicator& comm) {
    auto c = checkpoint_open_latest(comm, tmp.path(), CheckpointWorld::any);
    ASSERT_TRUE(c);
    steps[comm.rank()] = c->step();
    EXPECT_EQ(c->writer_world_size(), 4);
    EXPECT_EQ(c->read_rank_file_of(3, "state.txt"), "rank 3 step 9");
    EXPECT_EQ(c->read_rank_file_of(0, "state.txt"), "rank 0 step 9");
    EXPECT_EQ(c->read_shared_file("weights.bin"), std::string(1000, char(9)));
  }));
  EXPECT_EQ(steps, (std::vector<int64_t>{9, 9}));
  // A corrupt file of a writer rank that no longer exists (rank 3) still makes the newest step fall back.
  { std::ofstream(tmp.path() / "step_00000009" / "rank00003.state.txt", std::ios::app) << "x"; }
  expect_ok(two.run([&](Communicator& comm) {
    auto c = checkpoint_open_latest(comm, tmp.path(), CheckpointWorld::any);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->step(), 5);
  }));
  // More ranks than the writer had: a rank without its own files is told so when it asks for them.
  FakeWorld six(6);
  auto errors = six.run([&](Communicator& comm) {
    auto c = checkpoint_open_latest(comm, tmp.path(), CheckpointWorld::any);
    if (comm.rank() == 5) c->read_rank_file("state.txt");
  });
  ASSERT_TRUE(errors[5]);
  try {
    std::rethrow_exception(errors[5]);
  } catch (const UsageError& x) {
    EXPECT_NE(std::string(x.what()).find("written by 4 ranks: rank 5 has no files"), std::string::npos) << x.what();
  }
}

TEST(Checkpoint, OnlyRankZeroWritesSharedFilesAndNamesAreChecked) {
  test::TempDir tmp("ckpt");
  FakeWorld world(2);
  expect_ok(world.run([&](Communicator& comm) {
    CheckpointWriter writer(comm, tmp.path(), 1);
    if (comm.rank() == 1) {
      EXPECT_THROW(writer.shared_path("x.h5"), UsageError);
    } else {
      EXPECT_THROW(writer.shared_path("rank00001.x"), UsageError);
      EXPECT_THROW(writer.shared_path("MANIFEST.json"), UsageError);
      // Extras (e.g. HDF5 written by another library) go straight to the path.
      std::ofstream(writer.shared_path("masks.h5")) << "hdf5 bytes";
    }
    writer.commit("", "{}");
  }));
  EXPECT_NE(test::read_file(tmp / "step_00000001" / "MANIFEST.json").find("masks.h5"), std::string::npos);
}
