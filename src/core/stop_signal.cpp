#include "core/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

namespace s3e {
namespace {

// Written by the signal handler: only lock-free atomics are async-signal-safe.
std::atomic<int> g_stop_count{0};
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "signal handlers need lock-free atomics");

void on_stop_signal(int signo) {
  if (g_stop_count.fetch_add(1) > 0) {
    // Second signal: the user (or the scheduler) does not want a clean stop. write() and _exit() are safe here.
    static const char message[] = "s3editor: second stop signal, exiting at once\n";
    ssize_t ignored = write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    _exit(128 + signo);
  }
  g_stop_signal.store(signo);
}

}  // namespace

void stop_signals_install() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and writes continue; the flag is polled at safe points
  for (int signo : {SIGTERM, SIGUSR1, SIGINT}) sigaction(signo, &action, nullptr);
}

bool stop_requested() { return g_stop_count.load() > 0; }

int stop_signal_number() { return g_stop_signal.load(); }

const char* stop_reason() {
  switch (g_stop_signal.load()) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "a stop request";
  }
}

void stop_request() {
  if (g_stop_count.load() == 0) g_stop_count.store(1);
}

}  // namespace s3e
