// Under mpiexec at 1, 2, 4 ranks: the sharded write path (every rank writes its shard, rank 0 the virtual index).
#include <gtest/gtest.h>

#include <filesystem>

#include "common/test_util.h"
#include "core/config.h"
#include "dist/communicator.h"
#include "dist/process_context.h"
#include "store/latent_store.h"
#include "store/store_schema.h"
#include "store/store_shards.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {
// One folder shared by all ranks (named by rank 0, broadcast).
std::string shared_dir(const std::string& tag) {
  char buf[512] = {0};
  if (process_context().is_root()) {
    static test::TempDir* dir = new test::TempDir(tag);  // kept until exit
    std::snprintf(buf, sizeof(buf), "%s", dir->path().c_str());
  }
  MPI_Bcast(buf, sizeof(buf), MPI_CHAR, 0, MPI_COMM_WORLD);
  return buf;
}
}  // namespace

TEST(StoreShards, EveryRankWritesItsShardAndReadersSeeOneDataset) {
  const auto& ctx = process_context();
  fs::path dir = shared_dir("shards");
  fs::path index = dir / "data.h5";
  auto columns = store_columns({3}, 1);
  auto [begin, end] = shard_row_range(101, ctx.rank, ctx.world_size);
  {
    RowFileWriter w(shard_path(index, ctx.rank, ctx.world_size), k_store_schema, 1, columns);
    w.set_attr_int64s("latent_shape", {3});
    for (int64_t r = begin; r < end; ++r) {
      float lat[3] = {float(r), float(r) + 0.5f, float(ctx.rank)}, lab = 1;
      int64_t v = -1;
      w.append(k_col_latents, lat, 1);
      w.append(k_col_labels, &lab, 1);
      w.append(k_col_video_index, &v, 1);
      w.append(k_col_frame_index, &r, 1);
    }
    w.finalize();
  }
  auto comm = comm_create("mpi", CommOptions{});
  int64_t total = shards_publish_index(*comm, index, k_store_schema, 1, columns, end - begin, [](RowFileWriter& w) {
    w.set_attr_int64s("latent_shape", {3});
    w.write_strings(k_ds_attribute_names, {"x"});
  });
  EXPECT_EQ(total, 101);
  LatentStore s(index);
  ASSERT_EQ(s.size(), 101);
  std::vector<float> all(101 * 3);
  s.read_range_f32(k_col_latents, 0, 101, all.data());
  for (int64_t r = 0; r < 101; ++r) {
    ASSERT_EQ(all[r * 3], float(r));
    // Contiguous blocks in rank order.
    int owner = 0;
    while (!(shard_row_range(101, owner, ctx.world_size).first <= r && r < shard_row_range(101, owner, ctx.world_size).second)) ++owner;
    ASSERT_EQ(all[r * 3 + 2], float(owner));
  }
}

