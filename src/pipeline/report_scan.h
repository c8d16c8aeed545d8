// pipeline/report_scan.h — what the stages of a run wrote under a folder, found by content (never by run names):
// run manifests (JSON with schema "s3editor.run_manifest"), training logs (JSON-lines files whose lines are
// objects with a numeric "step"), metrics and sweeps (JSON with schema "s3editor.latent_metrics",
// "s3editor.latent_metrics_curve", "s3editor.video_metrics", "s3editor.sweep"), and the routing and sparse masks
// of trained editors (HDF5 schema "s3editor.editor") and of edit outputs (latent stores with edit/routing).
// The walk is bounded (depth, files) and skips hidden entries; unreadable files are noted, never fatal.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace s3e {

// A recognised JSON file.
struct ReportJsonFile {
  std::filesystem::path path;
  std::string schema;
  nlohmann::json json;
};

// A training log: one column per numeric key, one row per line (NaN where a line lacks the key or holds null).
struct ReportTrainLog {
  std::filesystem::path path;
  std::vector<std::string> keys;             // in first-seen order; "step" first
  std::vector<std::vector<double>> columns;  // columns[k][row]
  const std::vector<double>* column(const std::string& key) const;
};

// A matrix for a heat map, with its axis labels.
struct ReportMatrix {
  std::string name;  // "routing", "sparse masks"
  int64_t rows = 0, cols = 0;
  std::vector<float> values;  // row-major
  std::vector<std::string> row_labels, col_labels;
  std::string row_title, col_title;
};

// An editor (editor.h5) or an edit output (a store with edit/routing): its routing [A, K] and masks [K, H].
struct ReportEditorFile {
  std::filesystem::path path;
  std::string kind;  // "editor" | "edit output"
  std::string transform;
  std::vector<ReportMatrix> matrices;
};

struct ReportScanLimits {
  int max_depth = 8;
  int64_t max_files = 20000;           // entries looked at, all kinds
  int64_t max_json_bytes = 64 << 20;   // larger JSON / JSONL files are noted and skipped
};

struct ReportScan {
  std::filesystem::path root;
  std::vector<ReportJsonFile> manifests, latent_metrics, video_metrics, sweeps;
  std::vector<ReportTrainLog> train_logs;
  std::vector<ReportEditorFile> editors;
  std::vector<std::string> notes;  // files skipped, with the reason
  int64_t files_seen = 0;
  bool truncated = false;  // the walk stopped at max_files
};

// Walks `root` (a folder; UsageError otherwise). Files come in a stable order: shallower first, then by path.
ReportScan report_scan(const std::filesystem::path& root, const ReportScanLimits& limits = {});

// The pieces, for tests: a JSONL text as a training log (empty keys when it is not one).
ReportTrainLog report_parse_train_log(const std::string& text);
// Which recognised schema a parsed JSON document has ("" for none).
std::string report_json_schema(const nlohmann::json& json);

}  // namespace s3e
