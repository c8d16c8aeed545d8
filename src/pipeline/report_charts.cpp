// pipeline/report_charts.cpp — chart data for the report (report_charts.h).
#include "pipeline/report_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

namespace s3e {
namespace {

constexpr size_t k_max_points = 2000;  // per series of a line chart

bool finite(double v) { return std::isfinite(v); }

// A column as JSON numbers; NaN (no value) becomes null.
nlohmann::json values_json(const std::vector<double>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (double x : v) out.push_back(finite(x) ? nlohmann::json(x) : nlohmann::json(nullptr));
  return out;
}

bool any_finite(const std::vector<double>& v) { return std::any_of(v.begin(), v.end(), finite); }

// A text that is a whole number (sweep parameters come as text).
bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end && *end == '\0' && finite(value);
}

std::string value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

double number_or_nan(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

ReportChart lines_chart(const std::string& figure, const std::string& title, const std::string& x_label,
                        const std::string& y_label, const std::vector<double>& x,
                        const std::vector<std::pair<std::string, std::vector<double>>>& series, bool allow_log) {
  // Loss terms differ by orders of magnitude: a log axis when no value is negative (an all-zero term is named so
  // and left empty, since a log axis has no zero).
  bool log_y = allow_log;
  for (auto& [name, y] : series)
    for (double v : y)
      if (finite(v) && v < 0) log_y = false;
  bool any_positive = false;
  for (auto& [name, y] : series)
    for (double v : y) any_positive = any_positive || (finite(v) && v > 0);
  log_y = log_y && any_positive;
  ReportChart c{figure, "lines", title, x_label, y_label, {}, 320};
  c.spec["log_y"] = log_y;
  c.spec["series"] = nlohmann::json::array();
  for (auto& [name, y] : series) {
    std::vector<double> shown = y;
    bool all_zero = true;
    for (double& v : shown) {
      if (finite(v) && v != 0) all_zero = false;
      if (log_y && finite(v) && v <= 0) v = std::numeric_limits<double>::quiet_NaN();
    }
    // A long log is thinned to about k_max_points (every k-th point, and the last): the page stays small and the
    // curve's shape is kept at a chart's resolution.
    const size_t n = std::min(x.size(), shown.size());
    const size_t stride = (n + k_max_points - 1) / k_max_points;
    std::vector<double> xs, ys;
    for (size_t i = 0; i < n; i += std::max<size_t>(1, stride)) xs.push_back(x[i]), ys.push_back(shown[i]);
    if (n && (n - 1) % std::max<size_t>(1, stride) != 0) xs.push_back(x[n - 1]), ys.push_back(shown[n - 1]);
    c.spec["series"].push_back({{"name", log_y && all_zero ? name + " (all 0)" : name},
                                {"x", values_json(xs)}, {"y", values_json(ys)}});
  }
  return c;
}

}  // namespace

ReportColumnKind report_column_kind(const std::string& key) {
  if (key == "step") return ReportColumnKind::step;
  if (key.find("sparsity") != std::string::npos || key.rfind("groups", 0) == 0) return ReportColumnKind::sparsity;
  if (key.size() > 6 && key.compare(key.size() - 6, 6, "_per_s") == 0) return ReportColumnKind::rate;
  return ReportColumnKind::loss;
}

std::vector<ReportChart> report_train_charts(const ReportTrainLog& log, const std::string& figure,
                                             const std::string& label) {
  std::vector<ReportChart> charts;
  const std::vector<double>* step = log.column("step");
  if (!step) return charts;
  std::vector<std::pair<std::string, std::vector<double>>> losses, fractions, rates;
  for (size_t k = 0; k < log.keys.size(); ++k) {
    const std::string& key = log.keys[k];
    if (!any_finite(log.columns[k])) continue;
    switch (report_column_kind(key)) {
      case ReportColumnKind::loss: losses.emplace_back(key, log.columns[k]); break;
      case ReportColumnKind::rate: rates.emplace_back(key, log.columns[k]); break;
      case ReportColumnKind::sparsity:
        // Fractions (group_sparsity) are plotted; counts (groups_zero of groups) only make one when no fraction is
        // logged.
        if (key.find("sparsity") != std::string::npos) fractions.emplace_back(key, log.columns[k]);
        break;
      case ReportColumnKind::step: break;
    }
  }
  const std::vector<double>* zero = log.column("groups_zero");
  const std::vector<double>* groups = log.column("groups");
  if (fractions.empty() && zero && groups) {
    std::vector<double> f(zero->size());
    for (size_t i = 0; i < f.size(); ++i) f[i] = (*groups)[i] > 0 ? (*zero)[i] / (*groups)[i] : NAN;
    if (any_finite(f)) fractions.emplace_back("groups_zero / groups", f);
  }
  if (!losses.empty())
    charts.push_back(lines_chart(figure + ":losses", "training losses: " + label, "step", "loss", *step, losses, true));
  if (!fractions.empty())
    charts.push_back(lines_chart(figure + ":sparsity", "group sparsity: " + label, "step",
                                 "share of neuron groups at zero", *step, fractions, false));
  if (!rates.empty())
    charts.push_back(lines_chart(figure + ":rate", "throughput: " + label, "step", "per second", *step, rates, false));
  return charts;
}

std::vector<ReportSweepRow> report_sweep_rows(const nlohmann::json& sweep) {
  std::vector<ReportSweepRow> rows;
  auto pairs_of = [](const nlohmann::json& obj, bool numbers) {
    std::vector<std::pair<std::string, double>> out;
    if (!obj.is_object()) return out;
    for (auto& [k, v] : obj.items()) out.emplace_back(k, numbers ? number_or_nan(v) : 0.0);
    return out;
  };
  if (sweep.contains("table") && sweep["table"].is_array() && !sweep["table"].empty()) {
    for (auto& t : sweep["table"]) {
      ReportSweepRow r;
      if (t.contains("params") && t["params"].is_object())
        for (auto& [k, v] : t["params"].items()) r.params.emplace_back(k, value_text(v));
      std::sort(r.params.begin(), r.params.end());
      r.seeds = t.value("seeds", 0);
      r.mean = pairs_of(t.value("mean", nlohmann::json::object()), true);
      r.std = pairs_of(t.value("std", nlohmann::json::object()), true);
      rows.push_back(std::move(r));
    }
    return rows;
  }
  // No table: group the done points by their parameters without the seed.
  const std::string seed_key = sweep.value("seed_key", std::string("run.seed"));
  std::map<std::vector<std::pair<std::string, std::string>>, std::vector<const nlohmann::json*>> groups;
  std::vector<std::vector<std::pair<std::string, std::string>>> order;
  if (sweep.contains("points") && sweep["points"].is_array())
    for (auto& p : sweep["points"]) {
      if (p.value("status", std::string()) != "done" || !p.contains("metrics")) continue;
      std::vector<std::pair<std::string, std::string>> params;
      if (p.contains("params") && p["params"].is_object())
        for (auto& [k, v] : p["params"].items())
          if (k != seed_key) params.emplace_back(k, value_text(v));
      std::sort(params.begin(), params.end());
      if (!groups.count(params)) order.push_back(params);
      groups[params].push_back(&p["metrics"]);
    }
  for (auto& params : order) {
    ReportSweepRow r;
    r.params = params;
    auto& ms = groups[params];
    r.seeds = int(ms.size());
    std::vector<std::string> metrics;
    for (auto& [k, v] : ms[0]->items()) metrics.push_back(k);
    for (auto& m : metrics) {
      double sum = 0, sq = 0;
      int n = 0;
      for (auto* j : ms) {
        const double v = j->contains(m) ? number_or_nan((*j)[m]) : NAN;
        if (!finite(v)) continue;
        sum += v, sq += v * v, ++n;
      }
      const double mean = n ? sum / n : NAN;
      const double var = n > 1 ? std::max(0.0, (sq - n * mean * mean) / (n - 1)) : 0.0;
      r.mean.emplace_back(m, mean);
      r.std.emplace_back(m, n ? std::sqrt(var) : NAN);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<ReportChart> report_ablation_charts(const nlohmann::json& sweep, const std::string& figure) {
  std::vector<ReportChart> charts;
  const std::vector<ReportSweepRow> rows = report_sweep_rows(sweep);
  if (rows.empty()) return charts;
  const std::string seed_key = sweep.value("seed_key", std::string("run.seed"));
  // The axes in the sweep's order (its "axes" object), else those of the rows.
  std::vector<std::string> axes;
  if (sweep.contains("axes") && sweep["axes"].is_object())
    for (auto& [k, v] : sweep["axes"].items()) axes.push_back(k);
  if (axes.empty())
    for (auto& [k, v] : rows[0].params) axes.push_back(k);
  std::vector<std::string> metrics;
  for (auto& [m, v] : rows[0].mean) metrics.push_back(m);

  auto param = [](const ReportSweepRow& r, const std::string& key) -> const std::string* {
    for (auto& [k, v] : r.params)
      if (k == key) return &v;
    return nullptr;
  };
  auto metric = [](const std::vector<std::pair<std::string, double>>& v, const std::string& key) {
    for (auto& [k, x] : v)
      if (k == key) return x;
    return double(NAN);
  };
  for (const std::string& axis : axes) {
    if (axis == seed_key) continue;
    // The axis's values in first-seen order; numeric when every one is a number.
    std::vector<std::string> values;
    for (auto& r : rows)
      if (const std::string* v = param(r, axis); v && std::find(values.begin(), values.end(), *v) == values.end())
        values.push_back(*v);
    if (values.size() < 2) continue;
    bool numeric = true;
    double unused;
    for (auto& v : values) numeric = numeric && parse_number(v, unused);
    if (numeric)
      std::sort(values.begin(), values.end(), [](const std::string& a, const std::string& b) {
        return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
      });
    // One series per setting of the other axes.
    std::vector<std::string> series_names;
    std::map<std::string, std::vector<const ReportSweepRow*>> series_rows;
    for (auto& r : rows) {
      if (!param(r, axis)) continue;
      std::string name;
      for (auto& [k, v] : r.params)
        if (k != axis) name += (name.empty() ? "" : ", ") + k + " = " + v;
      if (name.empty()) name = "mean over seeds";
      if (!series_rows.count(name)) series_names.push_back(name);
      series_rows[name].push_back(&r);
    }
    for (const std::string& m : metrics) {
      ReportChart c{fmt::format("{}:{}:{}", figure, axis, m), "errorbars", m + " vs " + axis,
                    axis, m + " (mean ± std over seeds)", {}, 320};
      c.spec["x_category"] = !numeric;
      c.spec["categories"] = values;
      c.spec["series"] = nlohmann::json::array();
      bool drawn = false;
      for (auto& name : series_names) {
        std::vector<const ReportSweepRow*> pts = series_rows[name];
        std::sort(pts.begin(), pts.end(), [&](const ReportSweepRow* a, const ReportSweepRow* b) {
          return std::find(values.begin(), values.end(), *param(*a, axis)) <
                 std::find(values.begin(), values.end(), *param(*b, axis));
        });
        nlohmann::json xs = nlohmann::json::array(), ys = nlohmann::json::array(), es = nlohmann::json::array();
        for (auto* r : pts) {
          const std::string& v = *param(*r, axis);
          if (numeric) xs.push_back(std::strtod(v.c_str(), nullptr));
          else xs.push_back(v);
          const double mean = metric(r->mean, m), sd = metric(r->std, m);
          drawn = drawn || finite(mean);
          ys.push_back(finite(mean) ? nlohmann::json(mean) : nlohmann::json(nullptr));
          es.push_back(finite(sd) ? nlohmann::json(sd) : nlohmann::json(nullptr));
        }
        c.spec["series"].push_back({{"name", name}, {"x", xs}, {"y", ys}, {"err", es}});
      }
      if (drawn) charts.push_back(std::move(c));
    }
  }
  return charts;
}

std::vector<ReportChart> report_video_id_charts(const nlohmann::json& video, const std::string& figure,
                                                const std::string& title) {
  std::vector<ReportChart> charts;
  if (!video.contains("per_frame") || !video["per_frame"].is_object()) return charts;
  const nlohmann::json& pf = video["per_frame"];
  auto column = [&](const char* key) {
    std::vector<double> v;
    if (pf.contains(key) && pf[key].is_array())
      for (auto& x : pf[key]) v.push_back(number_or_nan(x));
    return v;
  };
  std::vector<double> t = column("time_s");
  std::vector<std::pair<std::string, std::vector<double>>> series;
  for (const char* key : {"id", "tl_id"}) {
    std::vector<double> v = column(key);
    if (any_finite(v)) series.emplace_back(std::string(key) == "id" ? "ID" : "TL-ID", v);
  }
  if (series.empty() || t.empty()) return charts;
  charts.push_back(lines_chart(figure, "ID and TL-ID along " + title, "time (s)", "similarity / ratio", t, series,
                               false));
  return charts;
}

ReportChart report_heatmap_chart(const ReportMatrix& m, const std::string& figure, const std::string& title) {
  ReportChart c{figure, "heatmap", title, m.col_title, m.row_title, {}, 0};
  nlohmann::json values = nlohmann::json::array();
  float lo = 0, hi = 0;
  bool first = true;
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t k = 0; k < m.cols; ++k) {
      const float v = m.values[size_t(r * m.cols + k)];
      if (!std::isfinite(v)) continue;
      values.push_back({k, r, v});
      lo = first ? v : std::min(lo, v);
      hi = first ? v : std::max(hi, v);
      first = false;
    }
  if (hi <= lo) hi = lo + 1;  // a constant matrix still maps to a colour
  c.spec = {{"rows", m.row_labels}, {"cols", m.col_labels}, {"values", values}, {"min", lo}, {"max", hi}};
  c.height_px = int(std::clamp<int64_t>(m.rows * 22 + 140, 240, 720));
  return c;
}

}  // namespace s3e
