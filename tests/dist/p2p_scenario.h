// p2p_scenario.h — one point-to-point exchange checked the same way under the fake world and under mpiexec: every
// rank but 0 sends three messages of growing length on one tag; rank 0 probes for any source, receives each into a
// larger buffer, and checks count and order per source (MPI's non-overtaking rule); then it answers each rank.
#pragma once
#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "dist/communicator.h"

namespace s3e::test {

inline void p2p_probe_receive_in_order(Communicator& comm) {
  const int r = comm.rank(), n = comm.size();
  if (r != 0) {
    // Three messages on one tag: they must arrive in the order sent (non-overtaking).
    for (int64_t k = 0; k < 3; ++k) {
      std::vector<int64_t> v(static_cast<size_t>(r + k), r * 100 + k);
      comm.send(v.data(), v.size(), DType::i64, 0, 5);
    }
    double reply = 0;
    auto m = comm.recv(&reply, 1, DType::f64, 0, 6);
    EXPECT_EQ(m.source, 0);
    EXPECT_EQ(m.tag, 6);
    EXPECT_EQ(m.count, 1u);
    EXPECT_EQ(reply, r * 0.5);
    return;
  }
  std::vector<int64_t> next_k(n, 0);
  for (int got = 0; got < 3 * (n - 1); ++got) {
    std::optional<CommMessage> m;
    while (!(m = comm.iprobe(Communicator::k_comm_any_source, 5, DType::i64))) std::this_thread::yield();
    std::vector<int64_t> v(16, -1);
    auto received = comm.recv(v.data(), v.size(), DType::i64, m->source, 5);
    int s = received.source;
    ASSERT_EQ(s, m->source);
    EXPECT_EQ(received.count, m->count);
    EXPECT_EQ(received.count, static_cast<size_t>(s + next_k[s]));
    EXPECT_EQ(v[0], s * 100 + next_k[s]) << "messages from rank " << s << " overtook each other";
    ++next_k[s];
  }
  for (int q = 1; q < n; ++q) {
    double reply = q * 0.5;
    comm.send(&reply, 1, DType::f64, q, 6);
  }
}

}  // namespace s3e::test
