// run_manifest.h — a stage's lineage record, `<run>/<stage>.manifest.json` (docs/formats.md, "Run manifest"): what
// it read and wrote (each file with its size and SHA-256; a folder as the list of its files), the effective config,
// the program's version and git commit, the world size, host, times and the outcome. A downstream stage's input
// hash equals the upstream stage's output hash, so a chain of runs can be traced and checked file by file.
//
// Usage (rank 0; app/stage.cpp does this for every subcommand that writes):
//   RunManifest m("train", run_dir, world_size);
//   m.add_input("io.store", store_path);            // hashed now, before the stage may change anything
//   ... run the stage ...
//   m.add_output("io.editor", editor_dir);           // hashed when written
//   m.set_config(config);                            // the effective config
//   m.write("completed", 0);                         // atomically; later writes replace it
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace s3e {

inline constexpr const char* k_manifest_schema = "s3editor.run_manifest";
inline constexpr int k_manifest_schema_version = 1;

// Where a stage's manifest lives.
std::filesystem::path run_manifest_path(const std::filesystem::path& run_dir, const std::string& stage);

// {"path": absolute, "kind": "file" | "folder" | "missing", "bytes", "sha256", "files": [{name, bytes, sha256}]}.
// A folder's sha256 is that of its listing ("<sha256>  <name>\n" per file, sorted by name, as sha256sum prints),
// so it changes when any file in it does. Throws DataError naming a file that cannot be read.
nlohmann::json run_manifest_describe(const std::filesystem::path& path);

class RunManifest {
 public:
  RunManifest(std::string stage, std::filesystem::path run_dir, int world_size);

  // Every key of the config with its value and where it came from.
  void set_config(const Config& config);
  void add_input(const std::string& key, const std::filesystem::path& path);
  void add_output(const std::string& key, const std::filesystem::path& path);
  // outcome: "completed", "items failed" (exit 3), "stopped" (75: requeue), "failed" (exit code -1: the error is in
  // the rank logs); `error` is the message of a failure ("" if none).
  void write(const std::string& outcome, int exit_code, const std::string& error = "");

  const nlohmann::json& json() const { return json_; }

 private:
  std::filesystem::path run_dir_;
  nlohmann::json json_;
  double start_seconds_ = 0;  // steady clock
};

}  // namespace s3e
