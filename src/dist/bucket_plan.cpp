#include "dist/bucket_plan.h"

#include <algorithm>
#include <map>

namespace s3e {

std::vector<Bucket> bucket_plan(const std::vector<BucketTensor>& tensors, const BucketOptions& options) {
  std::vector<Bucket> plan;
  std::map<DType, Bucket> open;  // one bucket being filled per dtype
  auto cap_now = [&] {
    if (options.cap_bytes == 0) return size_t{0};
    return plan.empty() ? std::min(options.first_cap_bytes, options.cap_bytes) : options.cap_bytes;
  };
  for (size_t i = tensors.size(); i-- > 0;) {
    const BucketTensor& t = tensors[i];
    Bucket& bucket = open[t.dtype];
    bucket.dtype = t.dtype;
    size_t added = t.count * dtype_size(t.dtype);
    // Close the open bucket when this tensor would overflow it (a tensor larger than the cap gets a bucket alone).
    if (!bucket.tensors.empty() && bucket.bytes() + added > cap_now()) {
      plan.push_back(std::move(bucket));
      bucket = Bucket{};
      bucket.dtype = t.dtype;
    }
    bucket.tensors.push_back(i);
    bucket.offsets.push_back(bucket.count);
    bucket.count += t.count;
    if (bucket.bytes() >= cap_now()) {
      plan.push_back(std::move(bucket));
      bucket = Bucket{};
    }
  }
  // Remaining partial buckets, in dtype order (deterministic on every rank).
  for (auto& [dtype, bucket] : open)
    if (!bucket.tensors.empty()) plan.push_back(std::move(bucket));
  return plan;
}

uint64_t bucket_plan_hash(const std::vector<Bucket>& plan) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the plan's numbers
  auto mix = [&](uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const auto& bucket : plan) {
    mix(static_cast<uint64_t>(bucket.dtype));
    mix(bucket.count);
    for (size_t k = 0; k < bucket.tensors.size(); ++k) {
      mix(bucket.tensors[k]);
      mix(bucket.offsets[k]);
    }
  }
  return h;
}

}  // namespace s3e
