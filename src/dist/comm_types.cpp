#include "dist/comm_types.h"

#include <fmt/format.h>

#include <algorithm>

namespace s3e {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::u8: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::f32: return 4;
    case DType::f64: return 8;
  }
  return 1;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::u8: return "uint8";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
  }
  return "?";
}

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::max: return "max";
  }
  return "?";
}

const char* collective_kind_name(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::allreduce: return "allreduce";
    case CollectiveKind::broadcast: return "broadcast";
    case CollectiveKind::allgather: return "allgather";
    case CollectiveKind::barrier: return "barrier";
  }
  return "?";
}

std::string collective_describe(const CollectiveSignature& sig) {
  switch (sig.kind) {
    case CollectiveKind::allreduce:
      return fmt::format("allreduce #{} ({} x {}, {})", sig.seq, sig.count, dtype_name(sig.dtype), reduce_op_name(sig.op));
    case CollectiveKind::broadcast:
      return fmt::format("broadcast #{} ({} x {}, root {})", sig.seq, sig.count, dtype_name(sig.dtype), sig.root);
    case CollectiveKind::allgather:
      return fmt::format("allgather #{} ({} x {} per rank)", sig.seq, sig.count, dtype_name(sig.dtype));
    case CollectiveKind::barrier: return fmt::format("barrier #{}", sig.seq);
  }
  return "?";
}

namespace {

template <typename T>
void reduce_typed(T* dst, const T* src, size_t count, ReduceOp op) {
  if (op == ReduceOp::max) {
    for (size_t i = 0; i < count; ++i) dst[i] = std::max(dst[i], src[i]);
  } else {
    for (size_t i = 0; i < count; ++i) dst[i] += src[i];
  }
}

template <typename T>
void scale_typed(T* data, size_t count, int divisor) {
  for (size_t i = 0; i < count; ++i) data[i] = static_cast<T>(data[i] / static_cast<T>(divisor));
}

}  // namespace

void buffer_reduce(void* dst, const void* src, size_t count, DType dtype, ReduceOp op) {
  switch (dtype) {
    case DType::u8: reduce_typed(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), count, op); break;
    case DType::i32: reduce_typed(static_cast<int32_t*>(dst), static_cast<const int32_t*>(src), count, op); break;
    case DType::i64: reduce_typed(static_cast<int64_t*>(dst), static_cast<const int64_t*>(src), count, op); break;
    case DType::f32: reduce_typed(static_cast<float*>(dst), static_cast<const float*>(src), count, op); break;
    case DType::f64: reduce_typed(static_cast<double*>(dst), static_cast<const double*>(src), count, op); break;
  }
}

void buffer_scale(void* data, size_t count, DType dtype, int divisor) {
  if (divisor == 1) return;
  switch (dtype) {
    case DType::u8: scale_typed(static_cast<uint8_t*>(data), count, divisor); break;
    case DType::i32: scale_typed(static_cast<int32_t*>(data), count, divisor); break;
    case DType::i64: scale_typed(static_cast<int64_t*>(data), count, divisor); break;
    case DType::f32: scale_typed(static_cast<float*>(data), count, divisor); break;
    case DType::f64: scale_typed(static_cast<double*>(data), count, divisor); break;
  }
}

}  // namespace s3e
