#include "metrics/metrics_report.h"

#include <fmt/format.h>

#include <cmath>

namespace s3e {

namespace {

// Every metric the CSV has a column for, so that rows of different runs line up.
const std::vector<std::string>& all_metric_names() {
  static const std::vector<std::string> names = latent_eval_metric_names(true, true);
  return names;
}

bool has_metric(const LatentEvalResult& r, const std::string& name) {
  for (auto& n : r.metrics.metric_names())
    if (n == name) return true;
  return false;
}

nlohmann::json number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

double samples_of(const LatentEvalResult& r, const std::vector<int>& attributes) {
  double n = 0;
  for (int a : attributes) n += r.metrics.count(a);
  return n;
}

}  // namespace

nlohmann::json metrics_report_json(const LatentEvalResult& r, const LatentEvalInfo& info) {
  nlohmann::json j;
  j["schema"] = "s3editor.latent_metrics";
  j["schema_version"] = 1;
  j["inputs"] = {{"store", info.store}, {"edited", info.edited}, {"editor", info.editor},
                 {"classifier", info.classifier}, {"judge", info.judge}, {"truth", info.truth},
                 {"transform", info.transform}};
  j["strength"] = r.strength;
  j["rows"] = {{"first", r.first_row}, {"count", r.num_rows}, {"validation_share", info.validation_share}};
  j["judged_by"] = r.has_truth ? "ground truth" : (r.has_judge ? "judge classifier" : "editor's classifier (circular)");
  j["metrics"] = r.metrics.metric_names();
  auto group = [&](const std::vector<int>& attributes) {
    nlohmann::json g;
    g["attributes"] = attributes.size();
    g["samples"] = samples_of(r, attributes);
    for (auto& m : r.metrics.metric_names()) g[m] = number(r.metrics.macro_mean(attributes, m));
    return g;
  };
  j["summary"] = {{"seen", group(r.seen)}, {"unseen", group(r.unseen)}};
  nlohmann::json per = nlohmann::json::array();
  auto add = [&](const std::vector<int>& attributes, const char* split) {
    for (int a : attributes) {
      nlohmann::json e = {{"index", a}, {"name", r.attribute_names[a]}, {"split", split}, {"samples", r.metrics.count(a)}};
      for (auto& m : r.metrics.metric_names()) e[m] = number(r.metrics.mean(a, m));
      per.push_back(e);
    }
  };
  add(r.seen, "seen");
  add(r.unseen, "unseen");
  j["attributes"] = per;
  return j;
}

std::string metrics_report_csv(const LatentEvalResult& r, const LatentEvalInfo& info) {
  std::string header = "store,editor,transform,judged_by,strength,first_row,rows,seen_attributes,unseen_attributes";
  std::string row = fmt::format("{},{},{},{},{},{},{},{},{}", csv_field(info.store), csv_field(info.editor),
                                csv_field(info.transform),
                                r.has_truth ? "truth" : (r.has_judge ? "judge" : "circular"), r.strength,
                                r.first_row, r.num_rows, r.seen.size(), r.unseen.size());
  for (const char* g : {"seen", "unseen"}) {
    const auto& attributes = std::string(g) == "seen" ? r.seen : r.unseen;
    for (auto& m : all_metric_names()) {
      header += fmt::format(",{}_{}", g, m);
      double v = has_metric(r, m) ? r.metrics.macro_mean(attributes, m) : std::nan("");
      row += std::isnan(v) ? std::string(",") : fmt::format(",{:.6g}", v);
    }
  }
  return header + "\n" + row + "\n";
}

std::string metrics_report_table(const LatentEvalResult& r) {
  std::string out = fmt::format("{:<30} {:>10} {:>10}\n", "metric (mean over attributes)",
                                fmt::format("seen({})", r.seen.size()), fmt::format("unseen({})", r.unseen.size()));
  auto cell = [](double v) { return std::isnan(v) ? std::string("-") : fmt::format("{:.4f}", v); };
  for (auto& m : r.metrics.metric_names())
    out += fmt::format("{:<30} {:>10} {:>10}\n", m, cell(r.metrics.macro_mean(r.seen, m)),
                       cell(r.metrics.macro_mean(r.unseen, m)));
  return out;
}

}  // namespace s3e
