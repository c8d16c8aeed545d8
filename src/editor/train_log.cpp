#include "editor/train_log.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

namespace fs = std::filesystem;

namespace s3e {

TrainLog::TrainLog(fs::path file, bool enabled, int64_t resumed_step) : file_(std::move(file)), enabled_(enabled) {
  if (!enabled_) return;
  fs::create_directories(file_.parent_path());
  std::vector<std::string> keep;
  if (resumed_step >= 0 && fs::exists(file_)) {
    std::ifstream in(file_);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("step", int64_t(1) << 62) <= resumed_step) keep.push_back(line);
    }
  }
  std::ofstream out(file_, std::ios::trunc);
  for (auto& line : keep) out << line << "\n";
}

void TrainLog::write(const std::string& json_line) {
  if (!enabled_) return;
  std::ofstream out(file_, std::ios::app);
  out << json_line << "\n";
}

}  // namespace s3e
