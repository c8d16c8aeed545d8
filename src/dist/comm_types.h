// comm_types.h — the vocabulary shared by every communicator backend: element types, reduction operators and the
// signature of one collective call (what the debug mode compares across ranks and the watchdog names on a stall).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace s3e {

enum class DType : uint8_t { u8, i32, i64, f32, f64 };
enum class ReduceOp : uint8_t { sum, mean, max };
enum class CollectiveKind : uint8_t { allreduce, broadcast, allgather, barrier };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* reduce_op_name(ReduceOp op);
const char* collective_kind_name(CollectiveKind kind);

// One collective as issued by one rank. Every rank must issue the same sequence of signatures (seq counts the
// collectives issued on this communicator, so it also catches a rank that skipped one).
struct CollectiveSignature {
  CollectiveKind kind = CollectiveKind::barrier;
  DType dtype = DType::u8;
  ReduceOp op = ReduceOp::sum;  // allreduce only
  int32_t root = 0;             // broadcast only
  uint64_t count = 0;           // elements per rank
  uint64_t seq = 0;

  bool operator==(const CollectiveSignature& o) const {
    return kind == o.kind && dtype == o.dtype && op == o.op && root == o.root && count == o.count && seq == o.seq;
  }
  bool operator!=(const CollectiveSignature& o) const { return !(*this == o); }
};

// "allreduce #12 (1000 x float32, mean)": how errors name a collective.
std::string collective_describe(const CollectiveSignature& sig);

// Element-wise dst = dst (op) src over `count` elements; mean is applied as sum here (see buffer_scale).
void buffer_reduce(void* dst, const void* src, size_t count, DType dtype, ReduceOp op);
// Divides every element by `divisor` (integer types: truncating division).
void buffer_scale(void* data, size_t count, DType dtype, int divisor);

}  // namespace s3e
