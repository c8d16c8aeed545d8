// The training-side pieces over real MPI ranks: gradient buckets, identical bucket order, sampler coverage,
// checkpoints written and agreed on by all ranks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "common/test_util.h"
#include "dist/checkpoint.h"
#include "dist/comm_mpi.h"
#include "dist/comm_tensor.h"
#include "dist/grad_reducer.h"
#include "dist/sampler.h"

using namespace s3e;

TEST(MpiTraining, BucketedGradientsAreTheMeanAndBucketOrderIsIdenticalOnAllRanks) {
  MpiCommunicator comm;
  // >= 100 tensors of odd sizes, float and double: several mixed buckets.
  torch::manual_seed(1 + comm.rank());
  std::vector<torch::Tensor> params;
  for (int i = 0; i < 120; ++i)
    params.push_back(torch::randn({(i * 37) % 301 + 1}, i % 4 == 0 ? torch::kDouble : torch::kFloat).requires_grad_());
  GradReducerOptions options;
  options.buckets = BucketOptions{8 * 1024, 1024};
  GradReducer reducer(params, comm, options);
  torch::manual_seed(100 + comm.rank());
  std::vector<torch::Tensor> scale;
  for (auto& p : params) scale.push_back(torch::randn_like(p));
  for (int step = 0; step < 3; ++step) {
    torch::Tensor loss = torch::zeros({}, torch::kDouble);
    for (size_t i = 0; i < params.size(); ++i)
      if (i != 5) loss = loss + (params[i] * scale[i]).pow(2).sum().to(torch::kDouble);  // param 5 unused
    loss.backward();
    std::vector<torch::Tensor> expected;
    for (auto& p : params)
      expected.push_back(comm_allgather(comm, p.grad().defined() ? p.grad() : torch::zeros_like(p)).mean(0));
    reducer.finish();
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-5, 1e-6)) << "param " << i;
      params[i].mutable_grad() = torch::Tensor();
    }
    // Same plan and same launch order (always 0..B-1) on every rank.
    int64_t hash = static_cast<int64_t>(bucket_plan_hash(reducer.plan()));
    std::vector<int64_t> hashes(comm.size());
    comm.allgather(&hash, hashes.data(), 1, DType::i64);
    for (auto h : hashes) EXPECT_EQ(h, hashes[0]);
    std::string order;
    for (size_t b : reducer.launch_order()) order += std::to_string(b) + ",";
    for (auto& other : comm_allgather_string(comm, order)) EXPECT_EQ(other, order);
    EXPECT_EQ(reducer.launch_order().size(), reducer.plan().size());
    EXPECT_GT(reducer.plan().size(), 4u);
    EXPECT_GT(reducer.launched_during_backward(), 0u);
  }
}

TEST(MpiTraining, SamplerGivesEqualStepsAndDisjointCoverageAcrossRanks) {
  MpiCommunicator comm;
  for (int64_t n : {5, 97, 256}) {
    for (auto remainder : {SamplerRemainder::pad, SamplerRemainder::drop}) {
      SamplerOptions o{n, 3, 11, true, remainder};
      if (remainder == SamplerRemainder::drop && n < 3 * comm.size()) continue;
      DistributedSampler sampler(o, comm.rank(), comm.size());
      std::vector<int64_t> mine;
      int64_t steps = 0;
      while (!sampler.epoch_done()) {
        auto b = sampler.next();
        mine.insert(mine.end(), b.indices.begin(), b.indices.begin() + b.valid);
        ++steps;
      }
      std::vector<int64_t> all_steps(comm.size());
      comm.allgather(&steps, all_steps.data(), 1, DType::i64);
      for (auto s : all_steps) EXPECT_EQ(s, steps);
      std::string text;
      for (auto i : mine) text += std::to_string(i) + " ";
      std::multiset<int64_t> seen;
      for (auto& other : comm_allgather_string(comm, text)) {
        std::istringstream in(other);
        int64_t i;
        while (in >> i) seen.insert(i);
      }
      for (auto i : seen) EXPECT_EQ(seen.count(i), 1u);
      if (remainder == SamplerRemainder::pad) EXPECT_EQ(static_cast<int64_t>(seen.size()), n);
      else EXPECT_EQ(static_cast<int64_t>(seen.size()), steps * 3 * comm.size());
    }
  }
}

TEST(MpiTraining, CheckpointWrittenByAllRanksIsAgreedOn) {
  MpiCommunicator comm;
  std::string dir_name = comm_broadcast_string(comm, comm.rank() == 0 ? std::string("mpi_ckpt") : "", 0);
  std::unique_ptr<test::TempDir> tmp;
  std::filesystem::path dir;
  if (comm.rank() == 0) {
    tmp = std::make_unique<test::TempDir>(dir_name);
    dir = tmp->path();
  }
  dir = comm_broadcast_string(comm, dir.string(), 0);
  for (int64_t step : {2, 4}) {
    CheckpointWriter writer(comm, dir, step);
    writer.write_rank_file("state.txt", std::to_string(comm.rank() * 1000 + step));
    if (comm.rank() == 0) writer.write_shared_file("w.bin", "weights");
    writer.commit("cfg", "{}");
  }
  auto checkpoint = checkpoint_open_latest(comm, dir);
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->step(), 4);
  EXPECT_EQ(checkpoint->read_rank_file("state.txt"), std::to_string(comm.rank() * 1000 + 4));
  comm.barrier();  // rank 0 removes the folder at the end of the test
}
