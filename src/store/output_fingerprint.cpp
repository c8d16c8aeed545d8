#include "store/output_fingerprint.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/errors.h"
#include "store/latent_store.h"

namespace fs = std::filesystem;

namespace s3e {

std::string output_fingerprint(const Config& config, int world_size, const std::vector<std::string>& inputs,
                               const std::vector<std::string>& excluded_keys) {
  std::string text = fmt::format("ranks={}\n", world_size);
  for (auto& key : config.schema().keys()) {
    // How a job runs (threads, logging, the communicator) does not change what it writes.
    // Nor which shard of a job array a run folder holds, or that a run merges the array's tasks: a task folder's
    // items are those of the whole run (pipeline/merge_tasks.h compares the settings).
    if (key.name == "run.threads" || key.name == "run.log_level" || key.name == "run.root" ||
        key.name == "run.shard" || key.name == "run.merge_tasks" || key.name.rfind("dist.", 0) == 0)
      continue;
    // File paths ([io]): the stage fingerprints its inputs itself (below), by path, size and time.
    if (key.name.rfind("io.", 0) == 0) continue;
    if (std::find(excluded_keys.begin(), excluded_keys.end(), key.name) != excluded_keys.end()) continue;
    text += key.name + "=" + config.get_text(key.name) + "\n";
  }
  for (auto& input : inputs) {
    if (input.empty()) continue;
    std::error_code ec;
    auto size = fs::file_size(input, ec);
    auto mtime = fs::last_write_time(input, ec).time_since_epoch().count();
    text += fmt::format("input={} size={} mtime={}\n", fs::absolute(input).string(), ec ? 0 : size, ec ? 0 : mtime);
  }
  return text;
}

bool output_is_current(const fs::path& path, const std::string& schema, const std::string& fingerprint) {
  if (!fs::exists(path)) return false;
  try {
    LatentStore store(path, schema);
    return store.attribute_text("fingerprint") == fingerprint;
  } catch (const Error&) {
    return false;  // unreadable or of another schema: redo it
  }
}

}  // namespace s3e
