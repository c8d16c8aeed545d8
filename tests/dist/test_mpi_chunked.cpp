// Chunked allreduce and broadcast (CommOptions::max_message_bytes) over real MPI ranks (run at 1, 2 and 4 ranks):
// results are bit for bit those of one unchunked message, for sizes that are and are not multiples of the chunk
// and for chunks small enough to force hundreds of messages; and the chunking really happens (the MPI calls are
// counted through MPI's profiling interface, PMPI).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "dist/comm_mpi.h"

using namespace s3e;

// MPI's profiling interface: these definitions take the place of the library's entry points in this binary and
// forward to PMPI_*, so the test sees how many messages each collective became.
namespace {
int g_allreduce_calls = 0, g_iallreduce_calls = 0, g_bcast_calls = 0;
}
extern "C" int MPI_Allreduce(const void* send, void* recv, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  ++g_allreduce_calls;
  return PMPI_Allreduce(send, recv, count, type, op, comm);
}
extern "C" int MPI_Iallreduce(const void* send, void* recv, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                              MPI_Request* request) {
  ++g_iallreduce_calls;
  return PMPI_Iallreduce(send, recv, count, type, op, comm, request);
}
extern "C" int MPI_Bcast(void* data, int count, MPI_Datatype type, int root, MPI_Comm comm) {
  ++g_bcast_calls;
  return PMPI_Bcast(data, count, type, root, comm);
}

namespace {

// Values over many binades and both signs, different on every rank: any change in the order in which an element's
// contributions are added would show in the last bits.
template <typename T>
std::vector<T> random_values(size_t count, int rank, uint32_t salt) {
  std::mt19937 gen(1000u * static_cast<uint32_t>(rank) + salt);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-20, 20);
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(std::ldexp(mantissa(gen), exponent(gen)));
  return v;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

CommOptions chunked_options(size_t max_bytes) {
  CommOptions options;
  options.watchdog_timeout_s = 60;
  options.max_message_bytes = max_bytes;
  return options;
}

size_t messages_for(size_t count, size_t element, size_t max_bytes) {
  size_t chunk = max_bytes / element;
  return (count + chunk - 1) / chunk;
}

template <typename T>
void check_allreduce(MpiCommunicator& whole, MpiCommunicator& chunked, DType dtype, ReduceOp op, size_t count,
                     bool async, uint32_t salt) {
  std::vector<T> a = random_values<T>(count, whole.rank(), salt), b = a;
  if (async) {
    whole.allreduce_async(a.data(), count, dtype, op)->wait();
    int before = g_iallreduce_calls;
    chunked.allreduce_async(b.data(), count, dtype, op)->wait();
    EXPECT_EQ(static_cast<size_t>(g_iallreduce_calls - before),
              messages_for(count, sizeof(T), chunked.options().max_message_bytes));
  } else {
    whole.allreduce(a.data(), count, dtype, op);
    int before = g_allreduce_calls;
    chunked.allreduce(b.data(), count, dtype, op);
    EXPECT_EQ(static_cast<size_t>(g_allreduce_calls - before),
              messages_for(count, sizeof(T), chunked.options().max_message_bytes));
  }
  EXPECT_TRUE(same_bits(a, b)) << dtype_name(dtype) << " " << reduce_op_name(op) << " count " << count
                               << (async ? " async" : "") << " chunk " << chunked.options().max_message_bytes
                               << " B on " << whole.size() << " ranks";
  // Sanity of the reduction itself for max (exact): every rank's value is <= the result, and one equals it.
  if (op == ReduceOp::max && count > 0) {
    std::vector<T> mine = random_values<T>(count, whole.rank(), salt);
    for (size_t i = 0; i < count; ++i) ASSERT_LE(mine[i], b[i]) << "element " << i;
  }
}

}  // namespace

TEST(MpiChunked, AllreduceEqualsUnchunkedBitForBit) {
  MpiCommunicator whole(chunked_options(0));
  // 4 KiB chunks: 1024 floats, 512 doubles. Sizes below, at, and off multiples of the chunk; 1000003 floats make
  // 977 messages.
  for (size_t max_bytes : {size_t{4096}, size_t{1000}}) {
    MpiCommunicator chunked(chunked_options(max_bytes));
    uint32_t salt = 0;
    for (size_t count : {size_t{1}, size_t{1023}, size_t{1024}, size_t{1025}, size_t{4096}, size_t{65537},
                         size_t{1000003}}) {
      for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean}) {
        for (bool async : {false, true}) {
          if (async && count > 65537 && max_bytes < 4096) continue;  // thousands of requests in flight: slow, no news
          check_allreduce<float>(whole, chunked, DType::f32, op, count, async, ++salt);
          check_allreduce<double>(whole, chunked, DType::f64, op, count, async, ++salt);
        }
      }
    }
  }
}

TEST(MpiChunked, BroadcastEqualsUnchunkedBitForBitFromEveryRoot) {
  MpiCommunicator whole(chunked_options(0)), chunked(chunked_options(1000));
  for (size_t count : {size_t{1}, size_t{999}, size_t{1000}, size_t{1001}, size_t{250000}, size_t{1234567}}) {
    for (int root = 0; root < whole.size(); ++root) {
      std::vector<uint8_t> a(count), b;
      std::mt19937 gen(static_cast<uint32_t>(count * 31 + whole.rank()));
      for (auto& x : a) x = static_cast<uint8_t>(gen());
      b = a;
      whole.broadcast(a.data(), count, DType::u8, root);
      int before = g_bcast_calls;
      chunked.broadcast(b.data(), count, DType::u8, root);
      EXPECT_EQ(static_cast<size_t>(g_bcast_calls - before), messages_for(count, 1, 1000));
      EXPECT_TRUE(same_bits(a, b)) << "count " << count << " root " << root;
      // And it is root's buffer: rank `root` generated it with its own seed.
      std::mt19937 root_gen(static_cast<uint32_t>(count * 31 + root));
      std::vector<uint8_t> expected(count);
      for (auto& x : expected) x = static_cast<uint8_t>(root_gen());
      EXPECT_TRUE(same_bits(expected, b)) << "count " << count << " root " << root;
    }
  }
  std::vector<float> f = random_values<float>(300001, whole.rank(), 7), g = f;
  whole.broadcast(f.data(), f.size(), DType::f32, whole.size() - 1);
  chunked.broadcast(g.data(), g.size(), DType::f32, whole.size() - 1);  // 250 floats per message
  EXPECT_TRUE(same_bits(f, g));
}

TEST(MpiChunked, ZeroMeansOneMessageAndTinyLimitsStillWork) {
  MpiCommunicator whole(chunked_options(0)), tiny(chunked_options(3));  // less than one float: one message
  std::vector<float> a = random_values<float>(5000, whole.rank(), 99), b = a, c = a;
  int before = g_allreduce_calls;
  whole.allreduce(a.data(), a.size(), DType::f32, ReduceOp::sum);
  EXPECT_EQ(g_allreduce_calls - before, 1);
  tiny.allreduce(b.data(), b.size(), DType::f32, ReduceOp::sum);
  EXPECT_TRUE(same_bits(a, b));
  MpiCommunicator one_float(chunked_options(4));  // one element per message: the extreme of chunking
  before = g_allreduce_calls;
  one_float.allreduce(c.data(), c.size(), DType::f32, ReduceOp::sum);
  EXPECT_EQ(g_allreduce_calls - before, 5000);
  EXPECT_TRUE(same_bits(a, c));
}
