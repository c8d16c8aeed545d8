#include "core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <fmt/format.h>

#include "core/errors.h"

namespace s3e {

namespace {
std::string g_level = "info";
std::string g_pattern;
}  // namespace

void log_init(int rank, int world_size, const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw UsageError(fmt::format("run.log_level = '{}' is not a level: use trace, debug, info, warn or error", level));
  g_level = level;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  // Rank 0 speaks for the job; other ranks only raise their voice for warnings and errors.
  console->set_level(rank == 0 ? parsed : std::max(parsed, spdlog::level::warn));
  auto logger = std::make_shared<spdlog::logger>("s3editor", console);
  logger->set_level(parsed);
  g_pattern = fmt::format("[%Y-%m-%d %H:%M:%S.%e] [rank {}/{}] [%l] %v", rank, world_size);
  logger->set_pattern(g_pattern);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void log_add_file(const std::string& log_file) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, /*truncate=*/false);
  sink->set_level(spdlog::level::from_str(g_level));
  sink->set_pattern(g_pattern);
  spdlog::default_logger()->sinks().push_back(sink);
}

std::string log_format_rank_error(int rank, const std::string& where, const std::string& what) {
  return fmt::format("error on rank {} ({}): {}", rank, where, what);
}

}  // namespace s3e
