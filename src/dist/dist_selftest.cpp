#include "dist/dist_selftest.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <csignal>
#include <sstream>

#include "core/errors.h"
#include "core/rng.h"
#include "dist/checkpoint.h"
#include "dist/grad_reducer.h"
#include "dist/sampler.h"
#include "dist/sha256.h"
#include "dist/torch_bytes.h"
#include "dist/torch_state.h"

namespace s3e {

namespace {

constexpr int64_t k_features = 8;

// Sample i is a pure function of (seed, i): any rank can produce any sample.
std::pair<torch::Tensor, torch::Tensor> selftest_batch(const std::vector<int64_t>& indices, uint64_t seed) {
  torch::Tensor x = torch::empty({static_cast<int64_t>(indices.size()), k_features});
  torch::Tensor y = torch::empty({static_cast<int64_t>(indices.size()), 1});
  auto xa = x.accessor<float, 2>();
  auto ya = y.accessor<float, 2>();
  for (size_t row = 0; row < indices.size(); ++row) {
    Rng rng(seed, rng_stream_tag("selftest-data"), static_cast<uint64_t>(indices[row]));
    double target = 0;
    for (int64_t j = 0; j < k_features; ++j) {
      xa[row][j] = static_cast<float>(rng.normal());
      target += std::sin(xa[row][j] * (j + 1));
    }
    ya[row][0] = static_cast<float>(target);
  }
  return {x, y};
}

std::string parameters_sha256(const std::vector<torch::Tensor>& params) {
  Sha256 sha;
  for (auto& p : params) {
    torch::Tensor c = p.detach().contiguous();
    sha.update(c.data_ptr(), static_cast<size_t>(c.numel() * c.element_size()));
  }
  return sha.hex_digest();
}


}  // namespace

SelftestTrainResult selftest_train(Communicator& comm, const SelftestTrainOptions& o) {
  SelftestTrainResult result;
  torch::manual_seed(static_cast<uint64_t>(o.seed));  // initial weights (rank 0's are broadcast anyway)
  torch::nn::Sequential model(torch::nn::Linear(k_features, 32), torch::nn::ReLU(), torch::nn::Dropout(0.2),
                              torch::nn::Linear(32, 1));
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.02).momentum(0.9));
  SamplerOptions sampler_options{o.samples, o.batch, o.seed, true, o.pad ? SamplerRemainder::pad : SamplerRemainder::drop};
  DistributedSampler sampler(sampler_options, comm.rank(), comm.size());
  // Each rank draws its own dropout masks.
  torch::manual_seed(o.seed * 1000 + static_cast<uint64_t>(comm.rank()));
  int64_t step = 0;

  if (auto checkpoint = checkpoint_open_latest(comm, o.checkpoint_dir)) {
    torch_from_bytes(model, checkpoint->read_shared_file("model.pt"));
    torch_from_bytes(optimizer, checkpoint->read_shared_file("optimizer.pt"));
    torch_rng_state_restore(checkpoint->read_rank_file("torch_rng.bin"));
    sampler.restore(DistributedSampler::state_from_json(checkpoint->read_rank_file("sampler.json")));
    step = checkpoint->step();
    result.resumed_from = step;
  }
  GradReducerOptions reducer_options;
  reducer_options.buckets.cap_bytes = 1024;  // several buckets even for this tiny model
  reducer_options.buckets.first_cap_bytes = 256;
  reducer_options.broadcast_initial = result.resumed_from < 0;  // a checkpoint already holds rank 0's weights
  GradReducer reducer(model->parameters(), comm, reducer_options);
  model->train();

  while (step < o.steps) {
    if (sampler.epoch_done()) sampler.next_epoch();
    SamplerBatch batch = sampler.next();
    auto [x, y] = selftest_batch(batch.indices, o.seed);
    optimizer.zero_grad();
    torch::nn::functional::mse_loss(model->forward(x), y).backward();
    reducer.finish();
    optimizer.step();
    ++step;
    ++result.steps_done;
    if (step % o.checkpoint_every == 0 || step == o.steps) {
      CheckpointWriter writer(comm, o.checkpoint_dir, step);
      if (comm.rank() == 0) {
        writer.write_shared_file("model.pt", torch_to_bytes(model));
        writer.write_shared_file("optimizer.pt", torch_to_bytes(optimizer));
      }
      writer.write_rank_file("sampler.json", sampler.state_to_json());
      std::string rng = torch_rng_state_save();
      if (step == o.kill_at_step && comm.rank() == o.kill_rank) {
        // A process killed mid-write: half a file in the temporary folder, nothing published.
        writer.write_rank_file("torch_rng.bin", rng.substr(0, rng.size() / 2));
        spdlog::warn("dist-selftest: rank {} kills itself while writing checkpoint step {}", comm.rank(), step);
        spdlog::default_logger()->flush();
        std::raise(SIGKILL);
      }
      writer.write_rank_file("torch_rng.bin", rng);
      writer.commit(fmt::format("[selftest]\nseed = {}\nsamples = {}\nbatch = {}\n", o.seed, o.samples, o.batch),
                    fmt::format("{{\"epoch\": {}}}", sampler.state().epoch));
      if (step == o.stop_after) break;
    }
  }
  result.weights_sha256 = parameters_sha256(model->parameters());
  // Data parallelism keeps one model: every rank must hold the same weights.
  std::vector<std::string> all = comm_allgather_string(comm, result.weights_sha256);
  for (size_t r = 0; r < all.size(); ++r)
    if (all[r] != all[0])
      throw Error(ExitCode::failure, fmt::format("weights diverged: rank {} has {}, rank 0 has {}", r, all[r], all[0]));
  return result;
}

}  // namespace s3e
