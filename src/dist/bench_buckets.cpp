#include "dist/bench_buckets.h"

#include <fmt/format.h>
#include <mpi.h>
#include <torch/torch.h>

#include <algorithm>

#include "dist/bench_allreduce.h"
#include "dist/comm_tensor.h"
#include "dist/grad_reducer.h"

namespace s3e {

namespace {

struct BenchModel {
  torch::nn::Sequential net;
  std::vector<torch::Tensor> params;
  BenchModel(const BucketBenchOptions& o) {
    torch::manual_seed(7);
    for (int l = 0; l < o.layers; ++l) {
      net->push_back(torch::nn::Linear(o.width, o.width));
      net->push_back(torch::nn::Tanh());
    }
    params = net->parameters();
  }
  void backward(const torch::Tensor& x) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    net->forward(x).pow(2).mean().backward();
  }
};

}  // namespace

BucketBenchResult bench_buckets_run(Communicator& comm, const BucketBenchOptions& o) {
  BucketBenchResult result;
  at::set_num_threads(o.threads);
  BenchModel plain(o), overlapped(o);
  GradReducerOptions no_overlap_options, overlap_options;
  no_overlap_options.buckets = BucketOptions{o.cap_bytes, o.first_cap_bytes};
  no_overlap_options.overlap = false;
  overlap_options = no_overlap_options;
  overlap_options.overlap = true;
  GradReducer reducer(plain.params, comm, no_overlap_options);
  GradReducer overlap_reducer(overlapped.params, comm, overlap_options);
  torch::Tensor x = torch::randn({o.batch, o.width});

  result.tensors = plain.params.size();
  for (auto& p : plain.params) result.bytes += static_cast<size_t>(p.numel()) * sizeof(float);
  result.buckets = reducer.plan().size();
  std::vector<float> flat(result.bytes / sizeof(float), 1.0f);

  // Gradients present for the communication-only measurements.
  plain.backward(x);
  std::vector<std::vector<float>> bucket_buffers;  // the plan's messages alone, without pack/unpack/mean
  for (auto& b : reducer.plan()) bucket_buffers.emplace_back(b.count, 1.0f);
  std::vector<double> per_param, bucketed, bucket_comm, raw, compute, no_overlap, overlap;
  auto time_it = [&](const std::function<void()>& fn) {
    return bench_time_median(comm, 1, o.iterations, fn) * 1e3;
  };
  // Interleaved repeats: every variant sees the same slice of the VM's noise.
  for (int r = 0; r < o.repeats; ++r) {
    per_param.push_back(time_it([&] {
      for (auto& p : plain.params) comm_allreduce(comm, p.mutable_grad(), ReduceOp::mean);
    }));
    bucketed.push_back(time_it([&] { reducer.finish(); }));
    bucket_comm.push_back(time_it([&] {
      for (auto& b : bucket_buffers) comm.allreduce(b.data(), b.size(), DType::f32, ReduceOp::sum);
    }));
    raw.push_back(time_it([&] {
      MPI_Allreduce(MPI_IN_PLACE, flat.data(), static_cast<int>(flat.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }));
    compute.push_back(time_it([&] { plain.backward(x); }));
    no_overlap.push_back(time_it([&] {
      plain.backward(x);
      reducer.finish();
    }));
    overlap.push_back(time_it([&] {
      overlapped.backward(x);
      overlap_reducer.finish();
    }));
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  result.per_param_ms = median(per_param);
  result.bucketed_ms = median(bucketed);
  result.bucket_comm_ms = median(bucket_comm);
  result.raw_flat_ms = median(raw);
  result.step_compute_ms = median(compute);
  result.step_no_overlap_ms = median(no_overlap);
  result.step_overlap_ms = median(overlap);
  result.bucketed_busbw_gbs = bench_busbw(static_cast<double>(result.bytes), result.bucketed_ms / 1e3, comm.size());
  result.bucket_comm_busbw_gbs =
      bench_busbw(static_cast<double>(result.bytes), result.bucket_comm_ms / 1e3, comm.size());
  result.raw_busbw_gbs = bench_busbw(static_cast<double>(result.bytes), result.raw_flat_ms / 1e3, comm.size());
  result.launched_during_backward = overlap_reducer.launched_during_backward();
  return result;
}

std::string bench_buckets_format(const BucketBenchResult& r, const BucketBenchOptions& o, int ranks) {
  std::string out;
  out += fmt::format("# gradient path: {} ranks, model {} x Linear(w->w)+tanh, w = {}: {} tensors, {:.1f} MiB of float32 "
                     "gradients, {} buckets (cap {} MiB, first {} MiB), batch {}, {} thread(s), {} repeats x {} calls, medians\n",
                     ranks, o.layers, o.width, r.tensors, r.bytes / 1048576.0, r.buckets, o.cap_bytes >> 20,
                     o.first_cap_bytes / 1048576.0, o.batch, o.threads, o.repeats, o.iterations);
  out += fmt::format("per-parameter allreduce   {:9.3f} ms\n", r.per_param_ms);
  out += fmt::format("fused buckets (finish)    {:9.3f} ms   speed-up {:.2f}x\n", r.bucketed_ms,
                     r.per_param_ms / r.bucketed_ms);
  out += fmt::format("raw flat MPI_Allreduce    {:9.3f} ms\n", r.raw_flat_ms);
  out += fmt::format("bucket messages alone     {:9.3f} ms   (the plan's allreduces, no pack/unpack/mean)\n",
                     r.bucket_comm_ms);
  out += fmt::format("busbw: finish() {:.3f} GB/s, bucket messages {:.3f} GB/s, raw flat {:.3f} GB/s; ratios to raw "
                     "{:.2f} and {:.2f}\n",
                     r.bucketed_busbw_gbs, r.bucket_comm_busbw_gbs, r.raw_busbw_gbs,
                     r.bucketed_busbw_gbs / r.raw_busbw_gbs, r.bucket_comm_busbw_gbs / r.raw_busbw_gbs);
  out += fmt::format("step: forward+backward only {:.3f} ms; + allreduce after backward {:.3f} ms; + allreduce "
                     "overlapped with backward {:.3f} ms ({} of {} buckets launched from backward hooks)\n",
                     r.step_compute_ms, r.step_no_overlap_ms, r.step_overlap_ms, r.launched_during_backward, r.buckets);
  return out;
}

}  // namespace s3e
