// log.h — logging with a rank prefix ("[rank 1/4]"), to stderr and to one file per rank in the run folder.
// Uses spdlog's default logger, so code logs with spdlog::info/warn/error after log_init().
#pragma once
#include <spdlog/spdlog.h>

#include <string>

namespace s3e {

// Sets up the default logger for this rank. `level` is one of trace, debug, info, warn, error.
// Ranks other than 0 log to stderr only at warn and above (their full log goes to `log_file` when given).
void log_init(int rank, int world_size, const std::string& level);

// Adds a per-rank log file (e.g. <run-dir>/logs/rank_00001.log) that receives everything at the chosen level.
void log_add_file(const std::string& log_file);

// "error on rank R (where): what" — the one format for fatal errors, so a 100-rank log can be grepped.
std::string log_format_rank_error(int rank, const std::string& where, const std::string& what);

}  // namespace s3e
