#include "dist/heartbeat.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/log.h"
#include "dist/process_context.h"

namespace s3e {

namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

// Wire format: fixed 24-byte frames in network byte order, so a reader never needs a length field and a stream
// that got out of step (or a stranger that connected to the port) is recognised by the magic and the job token.
constexpr uint32_t k_magic = 0x53334842;  // "S3HB"
constexpr size_t k_frame_bytes = 24;
enum class FrameType : uint32_t { hello = 1, ack = 2, beat = 3, bye = 4 };

struct Frame {
  FrameType type = FrameType::beat;
  int32_t rank = 0;
  uint32_t seq = 0;
  uint64_t token = 0;
};

void put32(unsigned char* p, uint32_t v) {
  uint32_t n = htonl(v);
  std::memcpy(p, &n, 4);
}
uint32_t get32(const unsigned char* p) {
  uint32_t n;
  std::memcpy(&n, p, 4);
  return ntohl(n);
}

std::string frame_pack(const Frame& f) {
  unsigned char b[k_frame_bytes];
  put32(b, k_magic);
  put32(b + 4, static_cast<uint32_t>(f.type));
  put32(b + 8, static_cast<uint32_t>(f.rank));
  put32(b + 12, f.seq);
  put32(b + 16, static_cast<uint32_t>(f.token >> 32));
  put32(b + 20, static_cast<uint32_t>(f.token & 0xffffffffu));
  return std::string(reinterpret_cast<char*>(b), k_frame_bytes);
}

// False when the bytes are not a frame of this job (wrong magic or token).
bool frame_unpack(const char* bytes, uint64_t token, Frame& f) {
  auto* b = reinterpret_cast<const unsigned char*>(bytes);
  if (get32(b) != k_magic) return false;
  f.type = static_cast<FrameType>(get32(b + 4));
  f.rank = static_cast<int32_t>(get32(b + 8));
  f.seq = get32(b + 12);
  f.token = (uint64_t{get32(b + 16)} << 32) | get32(b + 20);
  return f.token == token;
}

// A frame is tiny: a non-blocking send either takes it whole or (buffer full: the peer stopped reading) not at all;
// a heartbeat that cannot be sent now is simply skipped. MSG_NOSIGNAL: a closed peer must not SIGPIPE the job.
bool send_frame(int fd, const Frame& f) {
  std::string bytes = frame_pack(f);
  ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(bytes.size());
}

void socket_tune(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// This host's IPv4 addresses on interfaces that are up: the others first, loopback last.
std::vector<std::string> local_ipv4_addresses() {
  std::vector<std::string> outside, loopback;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {"127.0.0.1"};
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    char text[INET_ADDRSTRLEN] = {0};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof(text));
    auto& into = (i->ifa_flags & IFF_LOOPBACK) ? loopback : outside;
    if (std::find(into.begin(), into.end(), text) == into.end()) into.emplace_back(text);
  }
  ::freeifaddrs(list);
  outside.insert(outside.end(), loopback.begin(), loopback.end());
  return outside;
}

bool address_is_loopback(const std::string& a) { return a.rfind("127.", 0) == 0; }

// Rank 0's listening socket on every interface, on a port the kernel picks.
int tcp_listen(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(ExitCode::failure, fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(ExitCode::failure, fmt::format("bind/listen: {}", std::strerror(e)));
  }
  port = ntohs(a.sin_port);
  return fd;
}

// Connects to rank 0 on all its addresses at once (an address that is not routable from here must not cost a
// timeout per address), sends a hello on each connection that opens and keeps the first one that rank 0 answers
// with an ack carrying the job's token: only then is it rank 0 of this job and not some other listener. Returns
// the socket, or -1 with `why` filled.
int tcp_connect_first(const std::vector<std::string>& addresses, uint16_t port, uint64_t token, int rank,
                      double timeout_s, std::string& why) {
  struct Try {
    int fd = -1;
    std::string address;
    bool connected = false;
    std::string in;
    std::string error;
  };
  std::vector<Try> tries;
  for (auto& address : addresses) {
    Try t;
    t.address = address;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) continue;
    t.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t.fd < 0) continue;
    if (::connect(t.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS) {
      t.error = std::strerror(errno);
      ::close(t.fd);
      t.fd = -1;
    }
    tries.push_back(std::move(t));
  }
  Frame hello{FrameType::hello, rank, 0, token};
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(Seconds(timeout_s));
  int winner = -1;
  while (winner < 0 && Clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < tries.size(); ++i) {
      if (tries[i].fd < 0) continue;
      fds.push_back({tries[i].fd, static_cast<short>(tries[i].connected ? POLLIN : POLLOUT), 0});
      which.push_back(i);
    }
    if (fds.empty()) break;
    int left_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(fds.data(), fds.size(), std::max(1, std::min(left_ms, 200))) < 0 && errno != EINTR) break;
    for (size_t k = 0; k < fds.size() && winner < 0; ++k) {
      Try& t = tries[which[k]];
      if (!fds[k].revents) continue;
      auto drop = [&](const std::string& error) {
        t.error = error;
        ::close(t.fd);
        t.fd = -1;
      };
      if (!t.connected) {
        int error = 0;
        socklen_t len = sizeof(error);
        ::getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) {
          drop(std::strerror(error));
          continue;
        }
        t.connected = true;
        socket_tune(t.fd);
        if (!send_frame(t.fd, hello)) drop("could not send the hello");
        continue;
      }
      char buf[k_frame_bytes];
      ssize_t n = ::recv(t.fd, buf, sizeof(buf) - t.in.size(), MSG_DONTWAIT);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        drop(n == 0 ? "closed before answering" : std::strerror(errno));
        continue;
      }
      t.in.append(buf, static_cast<size_t>(n));
      if (t.in.size() < k_frame_bytes) continue;
      Frame f;
      if (frame_unpack(t.in.data(), token, f) && f.type == FrameType::ack && f.rank == 0) {
        winner = t.fd;
        t.fd = -1;
      } else {
        drop("answered, but not as rank 0 of this job");
      }
    }
  }
  std::vector<std::string> errors;
  for (auto& t : tries) {
    if (t.fd >= 0) ::close(t.fd);
    errors.push_back(fmt::format("{}: {}", t.address, t.error.empty() ? "no answer" : t.error));
  }
  if (winner < 0) why = fmt::format("{}", fmt::join(errors, "; "));
  return winner;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep))
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

std::string heartbeat_lost_message(int lost_rank, const std::string& host, double silent_s, double timeout_s) {
  return fmt::format("lost rank {} (host {}): no heartbeat for {:.1f} s (timeout {:g} s): its host is down or cut "
                     "off the network, or the process is stopped",
                     lost_rank, host.empty() ? "?" : host, silent_s, timeout_s);
}

struct Heartbeat::State {
  struct Conn {
    int fd = -1;
    int rank = -1;  // the peer, once it said hello (rank 0) or from the start (the others)
    std::string in;
  };

  HeartbeatOptions options;
  int rank = 0, size = 1;
  uint64_t token = 0;
  std::vector<std::string> hosts;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::vector<Conn> conns;  // touched only by the thread once it runs

  mutable std::mutex mutex;  // guards what both threads read: armed, watched, last_heard, done
  bool armed = false, fired = false;
  std::vector<bool> watched, done;
  std::vector<Clock::time_point> last_heard;

  std::atomic<bool> paused{false}, stop{false};
  std::thread thread;
  uint32_t seq = 0;

  ~State() {
    if (thread.joinable()) {
      stop = true;
      char c = 1;
      (void)!::write(wake[1], &c, 1);
      thread.join();
    }
    for (auto& c : conns)
      if (c.fd >= 0) ::close(c.fd);
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake)
      if (fd >= 0) ::close(fd);
  }

  void start() {
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
      throw Error(ExitCode::failure, fmt::format("heartbeat: pipe: {}", std::strerror(errno)));
    thread = std::thread([this] { loop(); });
  }

  void send_all(FrameType type) {
    for (auto& c : conns)
      if (c.rank >= 0) send_frame(c.fd, Frame{type, rank, seq, token});
    ++seq;
  }

  // Reads what a connection has; false when it is closed or speaks another protocol (then it is dropped: a lost
  // connection is not yet a lost rank, only silence for the timeout is).
  bool receive(Conn& c, Clock::time_point now) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.in.append(buf, static_cast<size_t>(n));
      size_t used = 0;
      for (; c.in.size() - used >= k_frame_bytes; used += k_frame_bytes) {
        Frame f;
        if (!frame_unpack(c.in.data() + used, token, f) || f.rank < 0 || f.rank >= size || f.rank == rank)
          return false;
        if (f.type == FrameType::hello && rank == 0) {
          c.rank = f.rank;
          send_frame(c.fd, Frame{FrameType::ack, 0, 0, token});
        } else if (f.type == FrameType::beat || f.type == FrameType::bye) {
          c.rank = f.rank;
          std::lock_guard<std::mutex> lock(mutex);
          last_heard[f.rank] = now;
          if (f.type == FrameType::bye) done[f.rank] = true;
        }
      }
      c.in.erase(0, used);
    }
  }

  void loop() {
    const auto interval = std::chrono::duration_cast<Clock::duration>(Seconds(options.interval_s));
    // A gap this long between two turns of this loop means this process itself was not running (stopped with
    // SIGSTOP, e.g. a suspended SLURM job, or a frozen VM): the peers' silence over that gap is ours, not theirs.
    const auto self_stall =
        std::chrono::duration_cast<Clock::duration>(Seconds(std::max(options.timeout_s / 2, 3 * options.interval_s)));
    auto next_send = Clock::now();
    auto last_turn = Clock::now();
    while (!stop) {
      std::vector<pollfd> fds{{wake[0], POLLIN, 0}};
      if (listen_fd >= 0) fds.push_back({listen_fd, POLLIN, 0});
      size_t first_conn = fds.size();
      for (auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
      auto wait = std::min(next_send - Clock::now(), interval / 2);
      int wait_ms = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
      ::poll(fds.data(), fds.size(), wait_ms);
      if (stop) break;
      auto now = Clock::now();
      if (now - last_turn > self_stall) {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto& t : last_heard) t = now;
        spdlog::warn("heartbeat: this process did not run for {:.1f} s (stopped?); restarting the peers' clocks",
                     Seconds(now - last_turn).count());
      }
      last_turn = now;
      if (fds[0].revents) {
        char drain[64];
        while (::read(wake[0], drain, sizeof(drain)) > 0) {
        }
      }
      if (listen_fd >= 0 && fds[1].revents) {
        for (;;) {
          int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          socket_tune(fd);
          conns.push_back(Conn{fd, -1, {}});  // its pollfd comes next turn
        }
      }
      for (size_t k = first_conn; k < fds.size(); ++k) {
        Conn& c = conns[k - first_conn];
        if (fds[k].revents && !receive(c, now)) {
          ::close(c.fd);
          c.fd = -1;
        }
      }
      conns.erase(std::remove_if(conns.begin(), conns.end(), [](const Conn& c) { return c.fd < 0; }), conns.end());
      if (now >= next_send) {
        if (!paused) send_all(FrameType::beat);
        next_send = now + interval;
      }
      check(now);
    }
    if (!paused) send_all(FrameType::bye);
  }

  void check(Clock::time_point now) {
    std::unique_lock<std::mutex> lock(mutex);
    if (!armed || fired) return;
    for (int r = 0; r < size; ++r) {
      if (!watched[r] || done[r]) continue;
      double silent = Seconds(now - last_heard[r]).count();
      if (silent <= options.timeout_s) continue;
      fired = true;
      std::string message = heartbeat_lost_message(r, hosts[r], silent, options.timeout_s);
      lock.unlock();
      options.on_lost(r, message);
      return;
    }
  }
};

Heartbeat::Heartbeat(Communicator& comm, HeartbeatOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.rank = comm.rank();
  s.size = comm.size();
  std::string host = process_context().host;
  if (host.empty() || process_context().world_size != s.size) {
    char name[256] = {0};
    ::gethostname(name, sizeof(name) - 1);
    host = name;
  }
  s.hosts.assign(s.size, "");
  s.hosts[s.rank] = host;
  if (s.size == 1) return;
  if (!(options.interval_s > 0) || !(options.timeout_s > 2 * options.interval_s))
    throw UsageError(fmt::format("heartbeat: the timeout ({:g} s) must exceed two intervals ({:g} s each)",
                                 options.timeout_s, options.interval_s));
  if (!options.on_lost) {
    int rank = s.rank;
    options.on_lost = [rank](int, const std::string& message) {
      spdlog::error("{}", log_format_rank_error(rank, "heartbeat", message));
      spdlog::default_logger()->flush();
      process_abort(static_cast<int>(ExitCode::temporary));
    };
  }
  s.options = options;
  s.watched.assign(s.size, false);
  s.done.assign(s.size, false);
  s.last_heard.assign(s.size, Clock::now());

  // Rank 0 listens before anyone knows where: its thread accepts and answers hellos while the others connect.
  std::string endpoint;
  if (s.rank == 0) {
    std::random_device device;
    s.token = (uint64_t{device()} << 32) ^ device() ^ uint64_t(::getpid());
    try {
      uint16_t port = 0;
      s.listen_fd = tcp_listen(port);
      endpoint = fmt::format("{} {} {}", port, s.token, fmt::join(local_ipv4_addresses(), ","));
    } catch (const std::exception& e) {
      spdlog::warn("heartbeat: rank 0 cannot listen ({}); the job runs without heartbeats", e.what());
    }
    s.start();
  }
  // Collective 1 (two allgathers): every rank's host, and rank 0's endpoint "port token addr,addr,...".
  std::vector<std::string> published = comm_allgather_string(comm, host + "\n" + endpoint);
  for (int r = 0; r < s.size; ++r) s.hosts[r] = published[r].substr(0, published[r].find('\n'));
  std::vector<std::string> rank0 = split(published[0].substr(published[0].find('\n') + 1), ' ');

  int32_t ok = 0;
  if (s.rank == 0) {
    ok = s.listen_fd >= 0 ? 1 : 0;
  } else if (rank0.size() == 3) {
    uint16_t port = static_cast<uint16_t>(std::stoul(rank0[0]));
    s.token = std::stoull(rank0[1]);
    // Loopback reaches rank 0 only on its own host; elsewhere it would reach whoever listens there.
    std::vector<std::string> candidates;
    for (auto& a : split(rank0[2], ','))
      if (!address_is_loopback(a) || s.hosts[0] == host) candidates.push_back(a);
    std::string why;
    int fd = tcp_connect_first(candidates, port, s.token, s.rank, options.connect_timeout_s, why);
    if (fd >= 0) {
      s.conns.push_back(State::Conn{fd, 0, {}});
      ok = 1;
    } else {
      spdlog::warn("heartbeat: rank {} cannot reach rank 0 (host {}) on port {} ({}); it runs without heartbeats",
                   s.rank, s.hosts[0], port, why);
    }
  }
  // Collective 2: who is connected. Only those are watched, so a rank that could not connect is never "lost".
  std::vector<int32_t> oks(s.size, 0);
  comm.allgather(&ok, oks.data(), 1, DType::i32);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto now = Clock::now();
    for (int r = 0; r < s.size; ++r) {
      s.watched[r] = oks[0] && oks[r] && r != s.rank && (s.rank == 0 || r == 0);
      s.last_heard[r] = now;
    }
    s.armed = true;
  }
  if (s.rank != 0 && ok) s.start();
  if (s.rank == 0) {
    int n = 0;
    std::vector<std::string> hosts;  // the watched ranks' distinct hosts, the first few: where the job runs
    for (int r = 1; r < s.size; ++r) {
      if (!s.watched[r]) continue;
      ++n;
      if (hosts.size() < 8 && std::find(hosts.begin(), hosts.end(), s.hosts[r]) == hosts.end())
        hosts.push_back(s.hosts[r]);
    }
    spdlog::info("heartbeat: rank 0 (host {}) watches {} of {} other ranks (hosts {}{}), every {:g} s (lost after "
                 "{:g} s)",
                 s.hosts[0], n, s.size - 1, fmt::join(hosts, ", "), n > 0 && hosts.size() == 8 ? ", ..." : "",
                 options.interval_s, options.timeout_s);
  }
}

Heartbeat::~Heartbeat() = default;

std::vector<int> Heartbeat::watched() const {
  std::vector<int> out;
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (int r = 0; r < static_cast<int>(state_->watched.size()); ++r)
    if (state_->watched[r]) out.push_back(r);
  return out;
}

const std::vector<std::string>& Heartbeat::hosts() const { return state_->hosts; }

void Heartbeat::pause_sending(bool paused) { state_->paused = paused; }

}  // namespace s3e
