// stop_signal.h — preemption and stop requests (docs/operations.md). SLURM preempts a job with SIGTERM (or the
// SIGUSR1 that `sbatch --signal=B:USR1@T` sends ahead of the time limit); a user presses Ctrl-C (SIGINT). The first
// of these only sets a flag: stages poll stop_requested() at safe points (trainers at the next step, where the ranks
// agree on it by a collective and write a checkpoint; item stages between items, carrying it in their work-queue
// requests) and then exit 75 so that SLURM requeues the job. A second signal ends the process at once with
// 128 + signal number, the shell's convention, for a user who does not want to wait.
#pragma once

namespace s3e {

// Installs the handlers for SIGTERM, SIGUSR1 and SIGINT (main() calls it once, before any work).
void stop_signals_install();
// True once a stop signal arrived (or stop_request() was called).
bool stop_requested();
// The first stop signal's number (SIGTERM, ...), 0 when none arrived or the stop was requested in code.
int stop_signal_number();
// "SIGTERM", "SIGUSR1", "SIGINT" or "a stop request": for messages.
const char* stop_reason();
// Asks for a stop from code (tests, a stage that wants to end cleanly), as the first signal would.
void stop_request();

}  // namespace s3e
