// Bucket planning: reverse order, small first bucket, cap, dtype separation, determinism.
#include <gtest/gtest.h>

#include <set>

#include "dist/bucket_plan.h"

using namespace s3e;

TEST(BucketPlan, ReverseOrderSmallFirstBucketAndCap) {
  // 10 float tensors of 100 KiB each; first cap 150 KiB, cap 350 KiB.
  std::vector<BucketTensor> tensors(10, BucketTensor{25600, DType::f32});
  auto plan = bucket_plan(tensors, BucketOptions{350 * 1024, 150 * 1024});
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].tensors, (std::vector<size_t>{9}));  // first bucket: only one tensor fits under 150 KiB
  EXPECT_EQ(plan[1].tensors, (std::vector<size_t>{8, 7, 6}));
  EXPECT_EQ(plan[2].tensors, (std::vector<size_t>{5, 4, 3}));
  EXPECT_EQ(plan[3].tensors, (std::vector<size_t>{2, 1, 0}));
}

TEST(BucketPlan, EveryTensorExactlyOnceWithContiguousOffsets) {
  std::vector<BucketTensor> tensors;
  for (size_t i = 0; i < 101; ++i) tensors.push_back({(i * 7919) % 5000 + 1, i % 5 == 0 ? DType::f64 : DType::f32});
  auto plan = bucket_plan(tensors, BucketOptions{16 * 1024, 2 * 1024});
  std::set<size_t> seen;
  for (auto& b : plan) {
    size_t offset = 0;
    for (size_t k = 0; k < b.tensors.size(); ++k) {
      EXPECT_TRUE(seen.insert(b.tensors[k]).second);
      EXPECT_EQ(tensors[b.tensors[k]].dtype, b.dtype);  // never mixed
      EXPECT_EQ(b.offsets[k], offset);
      offset += tensors[b.tensors[k]].count;
    }
    EXPECT_EQ(b.count, offset);
    // Over the cap only when a single tensor is larger than the cap.
    if (b.tensors.size() > 1) {
      EXPECT_LE(b.bytes(), 16u * 1024);
    }
  }
  EXPECT_EQ(seen.size(), tensors.size());
  EXPECT_EQ(bucket_plan_hash(plan), bucket_plan_hash(bucket_plan(tensors, BucketOptions{16 * 1024, 2 * 1024})));
  EXPECT_NE(bucket_plan_hash(plan), bucket_plan_hash(bucket_plan(tensors, BucketOptions{32 * 1024, 2 * 1024})));
}

TEST(BucketPlan, ZeroCapMeansOneTensorPerBucketAndBigTensorsGoAlone) {
  std::vector<BucketTensor> tensors{{10, DType::f32}, {1 << 20, DType::f32}, {10, DType::f32}};
  auto per_param = bucket_plan(tensors, BucketOptions{0, 0});
  ASSERT_EQ(per_param.size(), 3u);
  EXPECT_EQ(per_param[0].tensors, (std::vector<size_t>{2}));
  auto plan = bucket_plan(tensors, BucketOptions{1024, 1024});
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[1].tensors, (std::vector<size_t>{1}));  // 4 MiB tensor alone
}
