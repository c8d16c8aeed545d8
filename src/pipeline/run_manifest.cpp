#include "pipeline/run_manifest.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/build_info.h"
#include "core/clock_text.h"
#include "core/file_util.h"
#include "dist/process_context.h"
#include "dist/sha256.h"

namespace fs = std::filesystem;

namespace s3e {

fs::path run_manifest_path(const fs::path& run_dir, const std::string& stage) {
  return run_dir / (stage + ".manifest.json");
}

nlohmann::json run_manifest_describe(const fs::path& path) {
  nlohmann::json j;
  j["path"] = fs::absolute(path).lexically_normal().string();
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    j["kind"] = "file";
    j["bytes"] = int64_t(fs::file_size(path));
    j["sha256"] = sha256_file(path);
  } else if (fs::is_directory(path, ec)) {
    j["kind"] = "folder";
    std::vector<fs::path> files;
    for (auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file() && e.path().filename().string().front() != '.') files.push_back(e.path());
    std::vector<std::string> names;
    for (auto& f : files) names.push_back(f.lexically_relative(path).generic_string());
    std::sort(names.begin(), names.end());
    std::string listing;
    int64_t bytes = 0;
    j["files"] = nlohmann::json::array();
    for (auto& name : names) {
      const fs::path f = path / name;
      const std::string sha = sha256_file(f);
      const int64_t size = int64_t(fs::file_size(f));
      bytes += size;
      listing += sha + "  " + name + "\n";
      j["files"].push_back({{"name", name}, {"bytes", size}, {"sha256", sha}});
    }
    j["bytes"] = bytes;
    j["sha256"] = sha256_hex(listing);
  } else {
    j["kind"] = "missing";
  }
  return j;
}

RunManifest::RunManifest(std::string stage, fs::path run_dir, int world_size)
    : run_dir_(std::move(run_dir)), start_seconds_(clock_steady_seconds()) {
  json_["schema"] = k_manifest_schema;
  json_["schema_version"] = k_manifest_schema_version;
  json_["stage"] = stage;
  json_["run_dir"] = fs::absolute(run_dir_).lexically_normal().string();
  json_["program"] = {{"name", "s3editor"}, {"version", build_version()}, {"git_commit", build_git_commit()}};
  json_["host"] = process_context().host;
  json_["world_size"] = world_size;
  json_["started_utc"] = clock_utc_text();
  json_["inputs"] = nlohmann::json::object();
  json_["outputs"] = nlohmann::json::object();
}

void RunManifest::set_config(const Config& config) {
  nlohmann::json values = nlohmann::json::object();
  for (auto& key : config.schema().keys()) {
    values[key.name] = {{"value", config.get_text(key.name)}, {"source", config.source_of(key.name)}};
  }
  json_["config"] = values;
}

void RunManifest::add_input(const std::string& key, const fs::path& path) {
  json_["inputs"][key] = run_manifest_describe(path);
}

void RunManifest::add_output(const std::string& key, const fs::path& path) {
  json_["outputs"][key] = run_manifest_describe(path);
}

void RunManifest::write(const std::string& outcome, int exit_code, const std::string& error) {
  json_["outcome"] = outcome;
  json_["exit_code"] = exit_code;
  if (!error.empty()) json_["error"] = error;
  json_["finished_utc"] = clock_utc_text();
  json_["seconds"] = clock_steady_seconds() - start_seconds_;
  file_write_atomic(run_manifest_path(run_dir_, json_["stage"].get<std::string>()), json_.dump(2) + "\n");
}

}  // namespace s3e
