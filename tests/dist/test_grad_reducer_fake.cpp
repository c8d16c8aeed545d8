// GradReducer on the fake communicator (ranks are threads): averaged gradients over mixed-dtype buckets, plan
// order, overlap from backward hooks, unused parameters, initial broadcast.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dist/comm_fake.h"
#include "dist/comm_tensor.h"
#include "dist/grad_reducer.h"

using namespace s3e;

namespace {

struct MixedModel {
  torch::Tensor w1, b1, w2, unused;  // float, float, double (odd size), float never in the graph
  std::vector<torch::Tensor> params() const { return {w1, b1, w2, unused}; }
  // Deterministic values without the global torch generator (the ranks are threads sharing it).
  static torch::Tensor values(std::vector<int64_t> shape, int seed, torch::Dtype dtype = torch::kFloat) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return torch::sin(torch::arange(n, torch::kDouble) * (0.37 + seed)).reshape(shape).to(dtype).requires_grad_();
  }
  explicit MixedModel(int seed) {
    w1 = values({37, 13}, seed);
    b1 = values({37}, seed + 1);
    w2 = values({37, 3}, seed + 2, torch::kDouble);
    unused = values({5}, seed + 3);
  }
  torch::Tensor loss(const torch::Tensor& x) const {
    torch::Tensor h = torch::tanh(torch::matmul(x, w1.t()) + b1);
    return torch::matmul(h.to(torch::kDouble), w2).pow(2).sum();
  }
};

}  // namespace

TEST(GradReducerFake, AveragesMixedBucketsInPlanOrderWithOverlap) {
  for (bool overlap : {true, false}) {
    FakeWorld world(3);
    auto errors = world.run([&](Communicator& comm) {
      MixedModel model(100 + comm.rank());  // different weights per rank: the reducer must broadcast rank 0's
      GradReducerOptions options;
      options.overlap = overlap;
      options.buckets = BucketOptions{400, 100};  // several buckets for these sizes
      GradReducer reducer(model.params(), comm, options);
      MixedModel rank0(100);
      for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(model.params()[i], rank0.params()[i]));
      torch::Tensor x = MixedModel::values({4, 13}, 50 + comm.rank()).detach();
      for (int step = 0; step < 2; ++step) {
        model.loss(x).backward();
        // Local gradients, gathered from every rank, give the expected mean.
        std::vector<torch::Tensor> expected;
        for (auto& p : model.params()) {
          torch::Tensor local = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
          expected.push_back(comm_allgather(comm, local).mean(0));
        }
        reducer.finish();
        for (size_t i = 0; i < 4; ++i)
          EXPECT_TRUE(torch::allclose(model.params()[i].grad(), expected[i], 1e-6, 1e-6)) << "param " << i;
        EXPECT_TRUE(torch::equal(model.unused.grad(), torch::zeros({5})));
        std::vector<size_t> in_order(reducer.plan().size());
        for (size_t b = 0; b < in_order.size(); ++b) in_order[b] = b;
        EXPECT_EQ(reducer.launch_order(), in_order);
        EXPECT_GE(reducer.plan().size(), 3u);
        EXPECT_EQ(reducer.launched_during_backward() > 0, overlap);
        for (auto& p : model.params()) p.mutable_grad() = torch::Tensor();
      }
    });
    for (auto& e : errors) {
      try {
        if (e) std::rethrow_exception(e);
      } catch (const std::exception& x) {
        ADD_FAILURE() << x.what();
      }
    }
  }
}
