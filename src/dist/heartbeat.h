// heartbeat.h — tells a lost host from a stalled collective. Rank 0 and every other rank exchange small TCP
// heartbeats on a side channel of their own (a star: each rank keeps one connection to rank 0), from one thread per
// rank. When rank 0 hears nothing from rank R for the timeout, or rank R hears nothing from rank 0, that rank ends
// the job with `error on rank X (heartbeat): lost rank R (host H): no heartbeat for T s ...` (exit 75, as the
// watchdog does), so the log names the rank and host that dropped off instead of only the collective that stalled.
// Started by the mpi communicator when CommOptions::heartbeat_interval_s > 0 and the job has several ranks
// (dist.heartbeat_s, dist.heartbeat_timeout_s); the main thread never waits on it. Protocol and reasons:
// docs/distributed.md, "Several hosts".
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace s3e {

struct HeartbeatOptions {
  double interval_s = 2;          // one heartbeat each way per interval
  double timeout_s = 60;          // silence longer than this is a lost rank; must exceed 2 intervals
  double connect_timeout_s = 10;  // how long a rank tries to reach rank 0 at start
  // Called once, on the heartbeat thread, with the lost rank and the message (without the "error on rank" prefix).
  // The default logs `error on rank X (heartbeat): <message>` and calls process_abort(75).
  std::function<void(int lost_rank, const std::string& message)> on_lost;
};

class Heartbeat {
 public:
  // Collective over comm (three small allgathers, in the same order on every rank): publishes every rank's host
  // and rank 0's TCP endpoint, connects, and agrees on which ranks are watched. A rank that cannot reach rank 0
  // logs a warning and runs unwatched: the heartbeat is a diagnosis, never a reason to fail a healthy job.
  // With one rank it does nothing.
  Heartbeat(Communicator& comm, HeartbeatOptions options);
  // Sends a goodbye to the peers (a finished rank is not a lost one) and stops the thread. Not collective.
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Ranks whose silence this rank reports: rank 0 watches every rank that connected, the others watch rank 0.
  std::vector<int> watched() const;
  // Every rank's host name, by rank.
  const std::vector<std::string>& hosts() const;
  // Tests: stop sending heartbeats (and goodbyes), as a hung or cut-off host would, while still listening.
  void pause_sending(bool paused);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// `lost rank R (host H): no heartbeat for T s (timeout X s): ...`, the message the heartbeat reports.
std::string heartbeat_lost_message(int lost_rank, const std::string& host, double silent_s, double timeout_s);

}  // namespace s3e
