// store/row_split.h: the one train / held-out split — by row position for latent-only stores, by video (so by
// identity) for stores with a video table, stills among themselves — on real store files.
#include <gtest/gtest.h>

#include <set>

#include "common/test_util.h"
#include "core/errors.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"
#include "store/row_split.h"
#include "store/store_schema.h"

using namespace s3e;

namespace {

// A store of one-dim latents whose rows belong to `video_of_row` (-1: a still), with `videos` named videos.
std::filesystem::path write_store(const test::TempDir& dir, const std::string& name,
                                  const std::vector<int64_t>& video_of_row, int videos) {
  auto path = dir / name;
  RowFileWriter w(path, k_store_schema, k_store_schema_version, store_columns({1}, 1));
  w.set_attr_int64s("latent_shape", {1});
  w.write_strings(k_ds_attribute_names, {"a"});
  if (videos > 0) {
    std::vector<std::string> names;
    for (int v = 0; v < videos; ++v) names.push_back("clip_" + std::to_string(v));
    w.write_strings(k_ds_video_names, names);
  }
  for (size_t r = 0; r < video_of_row.size(); ++r) {
    float latent = float(r), label = 0;
    int64_t video = video_of_row[r], frame = int64_t(r);
    w.append(k_col_latents, &latent, 1);
    w.append(k_col_labels, &label, 1);
    w.append(k_col_video_index, &video, 1);
    w.append(k_col_frame_index, &frame, 1);
  }
  w.finalize();
  return path;
}

}  // namespace

TEST(RowSplit, ByRowsHoldsOutTheLastShare) {
  RowSplit s = row_split_by_rows(300, 0.1);
  EXPECT_EQ(s.by, "rows");
  ASSERT_EQ(s.train.size(), 270u);
  ASSERT_EQ(s.heldout.size(), 30u);
  EXPECT_EQ(s.train.back(), 269);
  EXPECT_EQ(s.heldout.front(), 270);
  EXPECT_EQ(row_split_by_rows(305, 0.1).heldout.size(), 31u);  // round(30.5) = 31
  EXPECT_THROW(row_split_by_rows(300, 0.0), UsageError);     // nothing held out
  EXPECT_THROW(row_split_by_rows(4, 0.1), UsageError);       // round(0.4) = 0 held-out rows
  EXPECT_EQ(row_split_take({10, 20, 30}, {2, 0}), (std::vector<int64_t>{30, 10}));
}

TEST(RowSplit, StoresWithoutVideosSplitByRow) {
  test::TempDir dir("row_split_rows");
  LatentStore store(write_store(dir, "stills.h5", std::vector<int64_t>(50, -1), 0));
  RowSplit s = row_split(store, 0.2);
  EXPECT_EQ(s.by, "rows");
  EXPECT_EQ(s.heldout.size(), 10u);
  EXPECT_EQ(s.heldout.front(), 40);
}

TEST(RowSplit, StoresWithVideosSplitByVideoSoNoIdentityIsOnBothSides) {
  test::TempDir dir("row_split_videos");
  // 5 videos with their frames interleaved (as ingest over ranks may write them), and 10 stills at the end.
  std::vector<int64_t> video_of_row;
  for (int f = 0; f < 8; ++f)
    for (int v = 0; v < 5; ++v) video_of_row.push_back(v);
  for (int i = 0; i < 10; ++i) video_of_row.push_back(-1);
  LatentStore store(write_store(dir, "videos.h5", video_of_row, 5));
  RowSplit s = row_split(store, 0.2);  // round(5 * 0.2) = 1 video held out: the last one; 2 of the 10 stills
  EXPECT_EQ(s.by, "video");
  std::set<int64_t> heldout_videos, train_videos;
  for (int64_t r : s.heldout)
    if (video_of_row[r] >= 0) heldout_videos.insert(video_of_row[r]);
  for (int64_t r : s.train)
    if (video_of_row[r] >= 0) train_videos.insert(video_of_row[r]);
  EXPECT_EQ(heldout_videos, (std::set<int64_t>{4}));
  EXPECT_EQ(train_videos, (std::set<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.heldout.size(), 8u + 2u);
  EXPECT_EQ(s.train.size() + s.heldout.size(), video_of_row.size());
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.heldout.begin(), s.heldout.end()));
  EXPECT_EQ(s.heldout.back(), 49);  // the last still
  EXPECT_THROW(row_split(store, 0.0), UsageError);
}
