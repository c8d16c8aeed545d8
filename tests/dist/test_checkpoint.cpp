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
