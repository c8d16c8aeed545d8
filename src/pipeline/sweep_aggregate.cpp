#include "pipeline/sweep_aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

#include "core/errors.h"
#include "core/file_util.h"

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace s3e {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

void flatten(const ojson& j, const std::string& prefix, bool skip_counts, SweepMetrics& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string name = prefix.empty() ? it.key() : prefix + "_" + it.key();
    if (it->is_object()) {
      flatten(*it, name, skip_counts, out);
    } else if (it->is_number()) {
      if (skip_counts && (it.key() == "attributes" || it.key() == "samples")) continue;
      out.emplace_back(name, it->get<double>());
    } else if (it->is_null()) {
      out.emplace_back(name, k_nan);  // a metric the run could not measure (NaN is written as null)
    }
  }
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) cells.emplace_back();
    else if (c != '\r') cells.back() += c;
  }
  return cells;
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string(); }

ojson number_json(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

bool is_seed(const SweepGrid& grid, const std::string& key) { return key == grid.seed_key; }

std::vector<std::string> metric_names(const std::vector<SweepPointResult>& results) {
  std::vector<std::string> names;
  for (auto& r : results)
    for (auto& [k, _] : r.metrics)
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
  return names;
}

double metric_of(const SweepMetrics& m, const std::string& key) {
  for (auto& [k, v] : m)
    if (k == key) return v;
  return k_nan;
}

}  // namespace

SweepMetrics sweep_metrics_read(const fs::path& file) {
  const std::string text = file_read_all(file);
  SweepMetrics out;
  if (file.extension() == ".csv") {
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> header, row;
    while (std::getline(in, line)) {
      if (line.empty() || line == "\r") continue;
      auto cells = csv_split(line);
      if (header.empty()) header = cells;
      else if (row.empty() || row[0] != "all") row = cells;
    }
    if (header.empty() || row.empty()) throw DataError(fmt::format("metrics file {} has no data row", file.string()));
    for (size_t i = 0; i < header.size() && i < row.size(); ++i) {
      double v;
      if (parse_double(row[i], v)) out.emplace_back(header[i], v);
    }
  } else {
    ojson j;
    try {
      j = ojson::parse(text);
    } catch (const std::exception& e) {
      throw DataError(fmt::format("metrics file {} is not JSON: {}", file.string(), e.what()));
    }
    if (!j.is_object()) throw DataError(fmt::format("metrics file {} is not a JSON object", file.string()));
    const bool latent = j.value("schema", std::string()) == "s3editor.latent_metrics";
    if (j.contains("summary") && j["summary"].is_object()) flatten(j["summary"], "", latent, out);
    else
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it->is_number()) out.emplace_back(it.key(), it->get<double>());
  }
  if (out.empty()) throw DataError(fmt::format("metrics file {} holds no numeric metric", file.string()));
  return out;
}

std::pair<double, double> sweep_mean_std(const std::vector<double>& values) {
  double sum = 0;
  int n = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++n;
  if (n == 0) return {k_nan, k_nan};
  const double mean = sum / n;
  if (n < 2) return {mean, k_nan};
  double ss = 0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / (n - 1))};
}

std::vector<SweepRow> sweep_table(const SweepGrid& grid, const std::vector<SweepPointResult>& results) {
  std::vector<SweepRow> rows;
  std::vector<std::vector<const SweepPointResult*>> members;
  for (auto& r : results) {
    std::vector<std::pair<std::string, std::string>> params;
    for (auto& p : r.point.params)
      if (!is_seed(grid, p.first)) params.push_back(p);
    auto it = std::find_if(rows.begin(), rows.end(), [&](const SweepRow& row) { return row.params == params; });
    size_t i = it - rows.begin();
    if (it == rows.end()) {
      rows.push_back(SweepRow{params, 0, {}, {}, {}});
      members.emplace_back();
    }
    if (r.status == "done") members[i].push_back(&r);
  }
  const auto names = metric_names(results);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].seeds = static_cast<int>(members[i].size());
    for (auto* m : members[i]) rows[i].points.push_back(m->point.name);
    for (auto& name : names) {
      std::vector<double> values;
      for (auto* m : members[i]) values.push_back(metric_of(m->metrics, name));
      auto [mean, sd] = sweep_mean_std(values);
      rows[i].mean.emplace_back(name, mean);
      rows[i].std.emplace_back(name, sd);
    }
  }
  return rows;
}

ojson sweep_json(const SweepGrid& grid, const std::vector<SweepPointResult>& results, const std::vector<SweepRow>& rows) {
  ojson j;
  j["schema"] = "s3editor.sweep";
  j["version"] = 1;
  j["grid"] = fs::absolute(grid.file).lexically_normal().string();
  j["base"] = grid.base.string();
  j["stages"] = grid.stages;
  ojson axes = ojson::object();
  for (auto& a : grid.axes) axes[a.key] = a.values;
  j["axes"] = axes;
  j["seed_key"] = grid.seed_key;
  j["metrics_file"] = grid.metrics;
  ojson points = ojson::array();
  for (auto& r : results) {
    ojson p;
    p["name"] = r.point.name;
    p["folder"] = r.folder.string();
    ojson params = ojson::object();
    for (auto& [k, v] : r.point.params) params[k] = v;
    p["params"] = params;
    p["status"] = r.status;
    if (!r.detail.empty()) p["detail"] = r.detail;
    ojson metrics = ojson::object();
    for (auto& [k, v] : r.metrics) metrics[k] = number_json(v);
    p["metrics"] = metrics;
    points.push_back(p);
  }
  j["points"] = points;
  ojson table = ojson::array();
  for (auto& row : rows) {
    ojson t;
    ojson params = ojson::object();
    for (auto& [k, v] : row.params) params[k] = v;
    t["params"] = params;
    t["seeds"] = row.seeds;
    t["points"] = row.points;
    ojson mean = ojson::object(), sd = ojson::object();
    for (auto& [k, v] : row.mean) mean[k] = number_json(v);
    for (auto& [k, v] : row.std) sd[k] = number_json(v);
    t["mean"] = mean;
    t["std"] = sd;
    table.push_back(t);
  }
  j["table"] = table;
  return j;
}

std::string sweep_csv(const SweepGrid& grid, const std::vector<SweepRow>& rows) {
  std::vector<std::string> keys;
  for (auto& a : grid.axes)
    if (!is_seed(grid, a.key)) keys.push_back(a.key);
  std::vector<std::string> metrics;
  if (!rows.empty())
    for (auto& [k, _] : rows[0].mean) metrics.push_back(k);
  std::string out;
  for (auto& k : keys) out += k + ",";
  out += "seeds";
  for (auto& m : metrics) out += "," + m + "_mean," + m + "_std";
  out += "\n";
  for (auto& row : rows) {
    for (auto& k : keys) {
      std::string v;
      for (auto& [pk, pv] : row.params)
        if (pk == k) v = pv;
      if (v.find_first_of(",\"") != std::string::npos) v = "\"" + v + "\"";
      out += v + ",";
    }
    out += std::to_string(row.seeds);
    for (size_t i = 0; i < metrics.size(); ++i) out += "," + number(row.mean[i].second) + "," + number(row.std[i].second);
    out += "\n";
  }
  return out;
}

std::string sweep_text_table(const SweepGrid& grid, const std::vector<SweepRow>& rows,
                             const std::vector<SweepPointResult>& results) {
  std::vector<std::string> metrics = grid.table_metrics;
  if (metrics.empty() && !rows.empty())
    for (auto& [k, _] : rows[0].mean)
      if (metrics.size() < 4) metrics.push_back(k);
  std::map<std::string, std::string> short_of;
  for (auto& a : grid.axes) short_of[a.key] = a.short_name;
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head;
  for (auto& a : grid.axes)
    if (!is_seed(grid, a.key)) head.push_back(a.short_name);
  head.push_back("n");
  for (auto& m : metrics) head.push_back(m);
  cells.push_back(head);
  for (auto& row : rows) {
    std::vector<std::string> line;
    for (auto& [k, v] : row.params) line.push_back(v);
    line.push_back(std::to_string(row.seeds));
    for (auto& m : metrics) {
      double mean = metric_of(row.mean, m), sd = metric_of(row.std, m);
      std::string c = std::isfinite(mean) ? fmt::format("{:.4f}", mean) : "-";
      if (std::isfinite(sd)) c += fmt::format(" ± {:.4f}", sd);
      line.push_back(c);
    }
    cells.push_back(line);
  }
  std::vector<size_t> width(head.size(), 0);
  // Width in characters, not bytes: "±" is two bytes in UTF-8.
  auto chars = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  for (auto& line : cells)
    for (size_t i = 0; i < line.size() && i < width.size(); ++i) width[i] = std::max(width[i], chars(line[i]));
  std::string out;
  for (auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i)
      out += line[i] + std::string(width[i] - chars(line[i]) + (i + 1 < line.size() ? 2 : 0), ' ');
    out += "\n";
  }
  int done = 0, failed = 0, pending = 0;
  for (auto& r : results) (r.status == "done" ? done : r.status == "failed" ? failed : pending)++;
  out += fmt::format("{} points: {} done, {} failed, {} pending; mean ± sample std over {}\n", results.size(), done,
                     failed, pending, grid.seed_key);
  return out;
}

}  // namespace s3e
