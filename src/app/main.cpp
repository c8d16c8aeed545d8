// main.cpp — the s3editor binary: starts MPI, dispatches to a registered subcommand, and turns any exception
// into "error on rank R (subcommand): what" plus the exit code of docs/cli.md. With several ranks an error
// aborts the whole job (MPI_Abort) so that no other rank waits forever in a collective.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <exception>

#include "core/command_registry.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_signal.h"
#include "dist/process_context.h"

namespace {

void print_usage() {
  std::printf("usage: s3editor <subcommand> [options]   (s3editor <subcommand> --help for its options)\n\n");
  std::printf("subcommands:\n");
  for (auto& c : s3e::command_list()) std::printf("  %-18s %s\n", c.name.c_str(), c.summary.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage();
    return argc < 2 ? static_cast<int>(s3e::ExitCode::usage) : 0;
  }
  const s3e::CommandInfo* command = s3e::command_find(argv[1]);
  if (!command) {
    std::fprintf(stderr, "s3editor: unknown subcommand '%s'\n\n", argv[1]);
    print_usage();
    return static_cast<int>(s3e::ExitCode::usage);
  }
  s3e::MpiSession mpi(&argc, &argv);
  s3e::stop_signals_install();
  int rank = s3e::process_context().rank;
  try {
    int rc = command->run(argc - 1, argv + 1);
    spdlog::default_logger()->flush();
    return rc;
  } catch (const std::exception& e) {
    int code = s3e::exit_code_of(e);
    std::string message = s3e::log_format_rank_error(rank, command->name, e.what());
    spdlog::error("{}", message);
    spdlog::default_logger()->flush();
    s3e::process_abort(code);
  }
}
