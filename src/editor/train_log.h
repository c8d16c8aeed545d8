// train_log.h — the JSONL training log that the report stage plots: rank 0 appends one line per logged step; a
// resumed run first drops the lines of steps after the checkpoint it resumed from, so each step appears once.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace s3e {

// Appends JSON lines to <file> on rank 0; on resume keeps only the lines of steps <= the resumed step.
class TrainLog {
 public:
  TrainLog(std::filesystem::path file, bool enabled, int64_t resumed_step);
  void write(const std::string& json_line);

 private:
  std::filesystem::path file_;
  bool enabled_;
};

}  // namespace s3e
