// Sampler: same permutation everywhere, equal step counts, disjoint coverage, pad/drop, exact resume.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/errors.h"
#include "dist/sampler.h"

using namespace s3e;

TEST(Sampler, PermutationDependsOnSeedAndEpochOnly) {
  auto a = sampler_permutation(1000, 5, 3, true);
  EXPECT_EQ(a, sampler_permutation(1000, 5, 3, true));
  EXPECT_NE(a, sampler_permutation(1000, 5, 4, true));
  EXPECT_NE(a, sampler_permutation(1000, 6, 3, true));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(sampler_permutation(5, 1, 0, false), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Sampler, EqualStepsAndDisjointCoverageForEveryCombination) {
  for (int64_t n : {1, 2, 7, 64, 101, 1000}) {
    for (int world : {1, 2, 3, 4}) {
      for (int64_t batch : {1, 3, 8}) {
        for (auto remainder : {SamplerRemainder::pad, SamplerRemainder::drop}) {
          SamplerOptions o{n, batch, 42, true, remainder};
          if (remainder == SamplerRemainder::drop && n < batch * world) {
            EXPECT_THROW(DistributedSampler(o, 0, world), UsageError);
            continue;
          }
          std::map<int64_t, int> seen;
          int64_t real = 0;
          std::vector<int64_t> steps;
          for (int r = 0; r < world; ++r) {
            DistributedSampler s(o, r, world);
            int64_t count = 0;
            while (!s.epoch_done()) {
              SamplerBatch b = s.next();
              EXPECT_EQ(static_cast<int64_t>(b.indices.size()), batch);
              for (int64_t k = 0; k < b.valid; ++k) ++seen[b.indices[k]];
              real += b.valid;
              ++count;
            }
            steps.push_back(count);
          }
          for (auto c : steps) EXPECT_EQ(c, steps[0]) << n << " " << world << " " << batch;
          for (auto& [index, times] : seen) EXPECT_EQ(times, 1) << "sample " << index << " seen twice";
          if (remainder == SamplerRemainder::pad) {
            EXPECT_EQ(static_cast<int64_t>(seen.size()), n);  // every sample exactly once among the real entries
            EXPECT_EQ(steps[0], (n + batch * world - 1) / (batch * world));
          } else {
            EXPECT_EQ(real, steps[0] * batch * world);
            EXPECT_EQ(steps[0], n / (batch * world));
          }
        }
      }
    }
  }
}

TEST(Sampler, ResumeMidEpochContinuesWithExactlyTheRemainingSamples) {
  SamplerOptions o{103, 4, 9, true, SamplerRemainder::pad};
  DistributedSampler full(o, 1, 3);
  std::vector<std::vector<int64_t>> expected;
  for (int step = 0; step < 25; ++step) {
    if (full.epoch_done()) full.next_epoch();
    expected.push_back(full.next().indices);
  }
  DistributedSampler first(o, 1, 3);
  for (int step = 0; step < 13; ++step) {  // epoch 1 starts at step 9 (9 steps per epoch)
    if (first.epoch_done()) first.next_epoch();
    first.next();
  }
  std::string saved = first.state_to_json();
  DistributedSampler resumed(o, 1, 3);
  resumed.restore(DistributedSampler::state_from_json(saved));
  EXPECT_EQ(resumed.state().epoch, 1);
  for (int step = 13; step < 25; ++step) {
    if (resumed.epoch_done()) resumed.next_epoch();
    EXPECT_EQ(resumed.next().indices, expected[step]) << "step " << step;
  }
}

TEST(Sampler, RestoreRejectsAStateOfAnotherGeometry) {
  SamplerOptions o{100, 4, 1, true, SamplerRemainder::drop};
  DistributedSampler s(o, 0, 2);
  EXPECT_THROW(s.restore(SamplerState{0, 12}), DataError);  // not a multiple of 8
  EXPECT_THROW(s.restore(SamplerState{0, 200}), DataError);
  EXPECT_THROW(DistributedSampler::state_from_json("{\"epoch\": 1}"), DataError);
}
