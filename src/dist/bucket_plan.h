// bucket_plan.h — how gradients are fused into allreduce buckets (torch-free; grad_reducer.h executes the plan).
// Parameters are taken in reverse order, because backward produces the gradients of the last layers first; the
// first bucket is small so that communication starts early in backward; later buckets hold up to ~25 MiB (fewer,
// larger messages reach full bandwidth). Buckets never mix dtypes. The plan is a pure function of the parameter
// list, so it is identical on every rank, and buckets are always launched in plan order: MPI and NCCL match
// collectives by issue order, so launching "whichever bucket is ready first" would pair different buckets across
// ranks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dist/comm_types.h"

namespace s3e {

struct BucketOptions {
  size_t cap_bytes = size_t{25} << 20;       // 0: one parameter per bucket
  size_t first_cap_bytes = size_t{1} << 20;  // cap of the first bucket
};

struct BucketTensor {  // one parameter, in parameter order
  size_t count = 0;
  DType dtype = DType::f32;
};

struct Bucket {
  DType dtype = DType::f32;
  std::vector<size_t> tensors;  // parameter indices, in the order they are laid out in the bucket
  std::vector<size_t> offsets;  // element offset of each of them in the bucket
  size_t count = 0;             // elements in the bucket
  size_t bytes() const { return count * dtype_size(dtype); }
};

std::vector<Bucket> bucket_plan(const std::vector<BucketTensor>& tensors, const BucketOptions& options = {});

// A hash of the plan (order, members, offsets, dtypes): ranks compare it to prove they agree on the buckets.
uint64_t bucket_plan_hash(const std::vector<Bucket>& plan);

}  // namespace s3e
