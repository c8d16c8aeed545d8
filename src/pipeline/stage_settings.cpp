#include "pipeline/stage_settings.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/errors.h"
#include "core/file_util.h"

namespace fs = std::filesystem;

namespace s3e {

void stage_settings_claim(const StageRun& stage, const std::string& settings, const std::vector<std::string>& outputs,
                          const std::string& what) {
  const fs::path path = stage.run_dir / (stage.stage + ".settings.txt");
  if (stage.fresh) {
    fs::remove_all(stage.run_dir / "items");
    for (auto& o : outputs) fs::remove_all(stage.run_dir / o);
  } else if (fs::exists(path) && file_read_all(path) != settings) {
    throw UsageError(fmt::format("{} holds {} ({}); use --fresh to redo it, or another --run-dir",
                                 stage.run_dir.string(), what, path.string()));
  }
  file_write_atomic(path, settings);
}

}  // namespace s3e
