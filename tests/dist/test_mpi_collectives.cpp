// Collectives over real MPI ranks (run at 1, 2 and 4 ranks): every dtype and op at odd sizes, sync and async.
#include <gtest/gtest.h>

#include <cmath>

#include "dist/comm_mpi.h"

using namespace s3e;

namespace {

template <typename T>
void check_allreduce(Communicator& comm, DType dtype, ReduceOp op, size_t count, bool async) {
  int r = comm.rank(), n = comm.size();
  std::vector<T> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = static_cast<T>((i % 7) + r + 1);
  if (async) {
    auto work = comm.allreduce_async(v.data(), count, dtype, op);
    while (!work->test()) {
    }
    work->wait();
  } else {
    comm.allreduce(v.data(), count, dtype, op);
  }
  for (size_t i = 0; i < count; ++i) {
    double base = static_cast<double>(i % 7) + 1;
    double sum = n * base + n * (n - 1) / 2.0;
    double expected = op == ReduceOp::sum ? sum : op == ReduceOp::max ? base + n - 1 : sum / n;
    if (std::is_integral<T>::value && op == ReduceOp::mean) expected = std::trunc(sum / n);
    ASSERT_NEAR(static_cast<double>(v[i]), expected, 1e-9 * std::abs(expected) + 1e-12)
        << dtype_name(dtype) << " " << reduce_op_name(op) << " count " << count << " at " << i;
  }
}

}  // namespace

TEST(MpiCollectives, AllreduceEveryDtypeOpAndOddSize) {
  MpiCommunicator comm;
  for (size_t count : {size_t{1}, size_t{3}, size_t{1023}, size_t{65537}, size_t{1000003}}) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
      for (bool async : {false, true}) {
        check_allreduce<float>(comm, DType::f32, op, count, async);
        check_allreduce<double>(comm, DType::f64, op, count, async);
        check_allreduce<int32_t>(comm, DType::i32, op, count, async);
        check_allreduce<int64_t>(comm, DType::i64, op, count, async);
      }
    }
  }
  check_allreduce<uint8_t>(comm, DType::u8, ReduceOp::max, 17, false);
}

TEST(MpiCollectives, BroadcastAllgatherBarrierAndDebugModeWithoutFalseAlarms) {
  CommOptions options;
  options.check_collectives = true;
  options.watchdog_timeout_s = 60;
  MpiCommunicator comm(options);
  int r = comm.rank(), n = comm.size();
  std::vector<double> b(12345, r);
  comm.broadcast(b.data(), b.size(), DType::f64, n - 1);
  for (double x : b) ASSERT_EQ(x, n - 1);
  std::vector<int64_t> mine{r, r * r, -r};
  std::vector<int64_t> all(3 * n);
  comm.allgather(mine.data(), all.data(), 3, DType::i64);
  for (int q = 0; q < n; ++q) {
    EXPECT_EQ(all[3 * q + 1], q * q);
    EXPECT_EQ(all[3 * q + 2], -q);
  }
  comm.barrier();
  EXPECT_EQ(comm_allgather_string(comm, std::string(r, 'x'))[n - 1], std::string(n - 1, 'x'));
  EXPECT_EQ(comm_broadcast_string(comm, r == 0 ? "hello" : "", 0), "hello");
}
