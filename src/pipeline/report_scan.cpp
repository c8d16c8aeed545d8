// pipeline/report_scan.cpp — finds what the stages wrote under a folder, by content (report_scan.h).
#include "pipeline/report_scan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>

#include "core/errors.h"
#include "core/file_util.h"
#include "store/h5_util.h"
#include "store/latent_store.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Files under root, shallower first, then by path; hidden entries (temporary files, locks) are skipped.
std::vector<fs::path> list_files(const fs::path& root, const ReportScanLimits& limits, ReportScan& scan) {
  std::vector<std::pair<int, fs::path>> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw UsageError(fmt::format("report: cannot read the folder {}: {}", root.string(), ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) {
      scan.notes.push_back(fmt::format("{}: {}", it->path().string(), ec.message()));
      break;
    }
    if (++scan.files_seen > limits.max_files) {
      scan.truncated = true;
      scan.notes.push_back(fmt::format("stopped looking after {} entries (report.max_files)", limits.max_files));
      break;
    }
    const std::string name = it->path().filename().string();
    const bool is_dir = it->is_directory(ec);
    if (!name.empty() && name[0] == '.') {
      if (is_dir) it.disable_recursion_pending();
      continue;
    }
    if (is_dir) {
      if (it.depth() + 1 >= limits.max_depth) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (ends_with(name, ".json") || ends_with(name, ".jsonl") || ends_with(name, ".h5"))
      found.emplace_back(it.depth(), it->path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> files;
  for (auto& f : found) files.push_back(f.second);
  return files;
}

bool too_big(const fs::path& path, const ReportScanLimits& limits, ReportScan& scan) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  if (ec || static_cast<int64_t>(bytes) <= limits.max_json_bytes) return false;
  scan.notes.push_back(fmt::format("{}: {} bytes, over report.max_json_mib; skipped", path.string(), bytes));
  return true;
}

void scan_json(const fs::path& path, const ReportScanLimits& limits, ReportScan& scan) {
  if (too_big(path, limits, scan)) return;
  nlohmann::json json = nlohmann::json::parse(file_read_all(path), nullptr, false);
  if (json.is_discarded()) {
    scan.notes.push_back(fmt::format("{}: not valid JSON; skipped", path.string()));
    return;
  }
  const std::string schema = report_json_schema(json);
  if (schema.empty()) return;
  ReportJsonFile file{path, schema, std::move(json)};
  if (schema == "s3editor.run_manifest") scan.manifests.push_back(std::move(file));
  else if (schema == "s3editor.video_metrics") scan.video_metrics.push_back(std::move(file));
  else if (schema == "s3editor.sweep") scan.sweeps.push_back(std::move(file));
  else scan.latent_metrics.push_back(std::move(file));
}

void scan_jsonl(const fs::path& path, const ReportScanLimits& limits, ReportScan& scan) {
  if (too_big(path, limits, scan)) return;
  ReportTrainLog log = report_parse_train_log(file_read_all(path));
  if (log.keys.empty()) return;
  log.path = path;
  scan.train_logs.push_back(std::move(log));
}

std::vector<std::string> numbered(const std::string& prefix, int64_t n) {
  std::vector<std::string> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(prefix + std::to_string(i));
  return labels;
}

// Reads a 2-D float dataset into a matrix; false when absent or not 2-D.
bool read_matrix(const LatentStore& file, const std::string& dataset, ReportMatrix& m) {
  if (!file.has_column(dataset)) return false;
  const auto shape = file.column_shape(dataset);
  if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0) return false;
  m.values = file.read_array_f32(dataset);
  m.rows = shape[0];
  m.cols = shape[1];
  return static_cast<int64_t>(m.values.size()) == m.rows * m.cols;
}

std::string read_schema(const fs::path& path) {
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) throw DataError(fmt::format("{}: cannot open as HDF5: {}", path.string(), h5_error_text()));
  if (!h5_attr_exists(file, "schema")) return "";
  return h5_attr_read_string(file, "schema", path.string());
}

// An editor or edit output with its matrices, before matrices already shown elsewhere are dropped.
void scan_h5(const fs::path& path, std::vector<ReportEditorFile>& found) {
  const std::string schema = read_schema(path);
  ReportEditorFile editor;
  editor.path = path;
  std::unique_ptr<LatentStore> file;
  std::string routing_name, masks_name;
  if (schema == "s3editor.editor") {
    file = std::make_unique<LatentStore>(path, schema);
    editor.kind = "editor";
    routing_name = "clusters/routing";
    masks_name = "sparsity/group_mask";
  } else if (schema == "s3editor.latent_store") {
    H5Id raw(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!raw.valid() || !h5_link_exists(raw, "edit") || !h5_link_exists(raw, "edit/routing")) return;
    raw = H5Id();
    file = std::make_unique<LatentStore>(path, schema);
    editor.kind = "edit output";
    routing_name = "edit/routing";
    masks_name = "edit/sparse_masks";
  } else {
    return;
  }
  editor.transform = file->attribute_text(editor.kind == "editor" ? "transform" : "edit_transform");
  std::vector<std::string> attributes =
      file->has_column("attribute_names") ? file->read_strings("attribute_names") : std::vector<std::string>{};
  ReportMatrix routing;
  if (read_matrix(*file, routing_name, routing)) {
    routing.name = "routing";
    routing.row_labels = static_cast<int64_t>(attributes.size()) == routing.rows ? attributes
                                                                                : numbered("attr ", routing.rows);
    routing.col_labels = numbered("expert ", routing.cols);
    routing.row_title = "attribute";
    routing.col_title = "expert (cluster)";
    editor.matrices.push_back(std::move(routing));
  }
  ReportMatrix masks;
  if (read_matrix(*file, masks_name, masks)) {
    masks.name = "sparse masks";
    masks.row_labels = numbered("expert ", masks.rows);
    masks.col_labels = numbered("", masks.cols);
    masks.row_title = "expert";
    masks.col_title = "neuron group (1 = live, 0 = pruned)";
    editor.matrices.push_back(std::move(masks));
  }
  if (!editor.matrices.empty()) found.push_back(std::move(editor));
}

// Checkpoints keep copies of the editor, and every edit output (and each of its item files) repeats its routing
// and masks: each distinct matrix is shown once, under an editor before an edit output, else the shallowest file.
void keep_distinct(std::vector<ReportEditorFile>& found, ReportScan& scan) {
  std::stable_sort(found.begin(), found.end(), [](const ReportEditorFile& a, const ReportEditorFile& b) {
    return (a.kind == "editor") > (b.kind == "editor");
  });
  std::set<std::string> seen;
  for (auto& editor : found) {
    std::vector<ReportMatrix> fresh;
    for (auto& m : editor.matrices) {
      std::string key = m.name + fmt::format("|{}x{}|", m.rows, m.cols);
      key.append(reinterpret_cast<const char*>(m.values.data()), m.values.size() * sizeof(float));
      if (seen.insert(key).second) fresh.push_back(std::move(m));
    }
    editor.matrices = std::move(fresh);
    if (!editor.matrices.empty()) scan.editors.push_back(std::move(editor));
  }
}

}  // namespace

const std::vector<double>* ReportTrainLog::column(const std::string& key) const {
  for (size_t k = 0; k < keys.size(); ++k)
    if (keys[k] == key) return &columns[k];
  return nullptr;
}

std::string report_json_schema(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("schema") || !json["schema"].is_string()) return "";
  const std::string schema = json["schema"].get<std::string>();
  for (const char* known : {"s3editor.run_manifest", "s3editor.latent_metrics", "s3editor.latent_metrics_curve",
                            "s3editor.video_metrics", "s3editor.sweep"})
    if (schema == known) return schema;
  return "";
}

ReportTrainLog report_parse_train_log(const std::string& text) {
  ReportTrainLog log;
  std::istringstream in(text);
  std::string line;
  size_t rows = 0;
  std::map<std::string, size_t> index;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // ordered: the columns keep the order of the file (loss first, as the trainer writes it).
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(line, nullptr, false);
    // A log is objects with a numeric step on every line; anything else is some other JSON-lines file, and a
    // torn last line (a run killed mid-write) ends the log.
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number()) {
      if (rows == 0) return {};
      break;
    }
    if (rows == 0) {
      index["step"] = 0;
      log.keys.push_back("step");
      log.columns.emplace_back();
    }
    for (auto& [key, value] : j.items()) {
      if (!value.is_number() && !value.is_null()) continue;
      if (!index.count(key)) {
        index[key] = log.keys.size();
        log.keys.push_back(key);
        log.columns.emplace_back(rows, k_nan);
      }
    }
    for (auto& col : log.columns) col.push_back(k_nan);
    for (auto& [key, value] : j.items())
      if (value.is_number() && index.count(key)) log.columns[index[key]][rows] = value.get<double>();
    ++rows;
  }
  return log;
}

ReportScan report_scan(const fs::path& root, const ReportScanLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw UsageError(fmt::format("report: {} is not a folder (give a run, chain or sweep folder)", root.string()));
  h5_quiet();
  ReportScan scan;
  scan.root = fs::absolute(root).lexically_normal();
  std::vector<ReportEditorFile> editors;
  for (const fs::path& path : list_files(scan.root, limits, scan)) {
    const std::string name = path.filename().string();
    try {
      if (ends_with(name, ".jsonl")) scan_jsonl(path, limits, scan);
      else if (ends_with(name, ".json")) scan_json(path, limits, scan);
      else scan_h5(path, editors);
    } catch (const std::exception& e) {
      // One unreadable file (a run still writing, a foreign file) does not stop the report.
      scan.notes.push_back(fmt::format("{}: skipped: {}", path.string(), e.what()));
    }
  }
  keep_distinct(editors, scan);
  return scan;
}

}  // namespace s3e
