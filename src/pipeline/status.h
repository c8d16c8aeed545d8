// status.h — `s3editor status RUN_DIR`: what a run folder holds, read from its files alone (no MPI, no lock taken):
// the stages that ran (their <stage>.config.ini), each item stage's done / failed / pending items (its
// <stage>.items.json plan against the item ledger), the newest checkpoint of each trainer, and whether a run holds
// the folder's lock now (host and pid). Text for people, --json for scripts.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace s3e {

// The status as JSON: {"run_dir", "stages": [...], "items": {stage: {total, done, failed, pending}},
// "checkpoints": {name: step}, "lock": {host, pid, stage, started} or null, "failed_csv"}.
// Throws UsageError when `run_dir` is not a folder.
nlohmann::json pipeline_status_read(const std::filesystem::path& run_dir);
// The same as a few lines of text.
std::string pipeline_status_text(const nlohmann::json& status);

}  // namespace s3e
