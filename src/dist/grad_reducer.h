// grad_reducer.h — data-parallel gradient averaging with fused buckets (after PyTorch DDP's Reducer).
// Construction broadcasts the parameters from rank 0 (every rank starts from the same weights) and plans the
// buckets (bucket_plan.h). With overlap on, a post-hook on each parameter's gradient accumulator copies the
// gradient into its bucket as soon as backward produced it and launches the bucket's non-blocking allreduce once
// the bucket is full and every earlier bucket was launched, so communication runs while backward goes on.
// finish() launches what is left (parameters without gradient contribute zeros), waits, and writes the averaged
// gradients back into .grad().
//
// Use: one backward, then finish(), on every rank, every step (finish() is where ranks meet):
//   optimizer.zero_grad(); loss.backward(); reducer.finish(); optimizer.step();
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "dist/bucket_plan.h"
#include "dist/communicator.h"

namespace s3e {

struct GradReducerOptions {
  BucketOptions buckets;
  bool overlap = true;            // launch buckets from backward hooks (false: everything in finish())
  bool broadcast_initial = true;  // broadcast the parameters from rank 0 at construction
};

class GradReducer {
 public:
  GradReducer(std::vector<torch::Tensor> parameters, Communicator& comm, GradReducerOptions options = {});
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // After backward: all buckets launched in plan order, waited for, averaged gradients in .grad().
  void finish();

  const std::vector<Bucket>& plan() const { return plan_; }
  // Buckets in the order they were launched during the last step (always 0, 1, 2, ...: the ordering contract).
  const std::vector<size_t>& launch_order() const { return launch_order_; }
  // How many buckets were launched from backward hooks (not from finish()) in the last step.
  size_t launched_during_backward() const { return launched_in_backward_; }

 private:
  struct Hook;
  void mark_ready(size_t param);
  void pack(size_t param);
  void launch_ready_buckets();
  void poll();

  std::vector<torch::Tensor> params_;
  Communicator& comm_;
  GradReducerOptions options_;
  std::vector<Bucket> plan_;
  std::vector<torch::Tensor> flat_;                      // one buffer per bucket
  std::vector<std::pair<size_t, size_t>> location_;      // param -> (bucket, position in bucket)
  std::vector<bool> ready_;
  std::vector<size_t> missing_;                          // per bucket: parameters not yet packed
  std::vector<std::unique_ptr<CommWork>> works_;         // per bucket, while in flight
  size_t next_launch_ = 0;
  bool in_finish_ = false;
  size_t launched_in_backward_ = 0, last_step_backward_launches_ = 0;
  std::vector<size_t> launch_order_, step_launch_order_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // keep the hooked accumulators alive
  std::shared_ptr<GradReducer*> self_;                                // hooks reach us through this; null after destruction
};

}  // namespace s3e
