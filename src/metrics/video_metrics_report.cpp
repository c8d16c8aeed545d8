#include "metrics/video_metrics_report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <sstream>

namespace s3e {
namespace {

bool evaluated(const nlohmann::json& v) { return v.value("evaluated", false); }

double number_or_nan(const nlohmann::json& v, const std::string& key) {
  return v.contains(key) && v[key].is_number() ? v[key].get<double>() : std::nan("");
}

// Mean over videos of every numeric key of the objects at `path` (e.g. "attributes" -> {name: {key: x}}).
nlohmann::json mean_of_nested(const std::vector<nlohmann::json>& videos, const std::string& path) {
  std::map<std::string, std::map<std::string, std::pair<double, int64_t>>> sums;
  for (auto& v : videos) {
    if (!evaluated(v) || !v.contains(path)) continue;
    for (auto& [name, values] : v[path].items()) {
      if (values.is_number()) {
        if (std::isfinite(values.get<double>())) sums[name][""].first += values.get<double>(), ++sums[name][""].second;
        continue;
      }
      for (auto& [key, x] : values.items())
        if (x.is_number() && std::isfinite(x.get<double>())) sums[name][key].first += x.get<double>(), ++sums[name][key].second;
    }
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto& [name, keys] : sums)
    for (auto& [key, s] : keys) {
      const double mean = s.first / double(s.second);
      if (key.empty())
        out[name] = mean;
      else
        out[name][key] = mean;
    }
  return out;
}

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return fmt::format("{:.6g}", v.get<double>());
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

nlohmann::json json_number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

const std::vector<std::string>& video_metric_names() {
  static const std::vector<std::string> names = {
      "id",           "id_raw",       "id_euclidean",       "tl_id",           "tg_id",   "tl_id_raw",
      "tg_id_raw",    "success_rate", "faithfulness",       "preservation",    "locality_landmarks",
      "locality_pixels", "flicker",   "residual",           "jitter_ratio"};
  return names;
}

const std::vector<std::string>& video_count_names() {
  static const std::vector<std::string> names = {"frames", "frames_evaluated", "frames_no_face", "frames_no_face_source",
                                                 "frames_no_face_edited", "tl_pairs", "tg_pairs", "pairs_excluded"};
  return names;
}

nlohmann::json video_metrics_summary(const std::vector<nlohmann::json>& videos) {
  nlohmann::json s = nlohmann::json::object();
  int64_t n = 0;
  for (auto& v : videos) n += evaluated(v) ? 1 : 0;
  s["videos"] = int64_t(videos.size());
  s["videos_evaluated"] = n;
  for (auto& name : video_metric_names()) {
    double sum = 0;
    int64_t count = 0;
    for (auto& v : videos) {
      const double x = evaluated(v) ? number_or_nan(v, name) : std::nan("");
      if (std::isfinite(x)) sum += x, ++count;
    }
    s[name] = count ? nlohmann::json(sum / double(count)) : nlohmann::json();
  }
  for (auto& name : video_count_names()) {
    int64_t sum = 0;
    for (auto& v : videos)
      if (v.contains(name) && v[name].is_number_integer()) sum += v[name].get<int64_t>();
    s[name] = sum;
  }
  return s;
}

nlohmann::json video_metrics_document(const std::vector<nlohmann::json>& videos, const std::string& edited,
                                      const std::string& identity_net) {
  nlohmann::json d;
  d["schema"] = k_video_metrics_schema;
  d["version"] = 1;
  d["edited"] = edited;
  d["identity_net"] = identity_net;
  d["summary"] = video_metrics_summary(videos);
  d["attributes"] = mean_of_nested(videos, "attributes");
  d["side_judges"] = mean_of_nested(videos, "side_judges");
  d["videos"] = videos;
  return d;
}

std::string video_metrics_csv(const nlohmann::json& document) {
  std::ostringstream out;
  out << "video,status";
  for (auto& c : video_count_names()) out << ',' << c;
  for (auto& m : video_metric_names()) out << ',' << m;
  out << '\n';
  auto row = [&](const std::string& id, const std::string& status, const nlohmann::json& v) {
    out << csv_cell(id) << ',' << csv_cell(status);
    for (auto& c : video_count_names()) out << ',' << (v.contains(c) ? csv_cell(v[c]) : "");
    for (auto& m : video_metric_names()) out << ',' << (v.contains(m) ? csv_cell(v[m]) : "");
    out << '\n';
  };
  for (auto& v : document["videos"]) row(v.value("video", ""), v.value("status", ""), v);
  row("all", "", document["summary"]);
  return out.str();
}

std::string video_metrics_table(const nlohmann::json& document) {
  const nlohmann::json& s = document["summary"];
  auto f = [&](const char* key) {
    return s.contains(key) && s[key].is_number() ? fmt::format("{:.3f}", s[key].get<double>()) : std::string("-");
  };
  std::string t = fmt::format("{} of {} video(s) evaluated, {} frames ({} without a face on a side, excluded)\n",
                              s["videos_evaluated"].get<int64_t>(), s["videos"].get<int64_t>(),
                              s["frames"].get<int64_t>(), s["frames_no_face"].get<int64_t>());
  t += fmt::format("  identity  ID {} (raw cosine {}, Euclidean {}), TL-ID {} TG-ID {} (raw {} / {}; {} pairs "
                   "excluded)\n",
                   f("id"), f("id_raw"), f("id_euclidean"), f("tl_id"), f("tg_id"), f("tl_id_raw"), f("tg_id_raw"),
                   s["pairs_excluded"].get<int64_t>());
  t += fmt::format("  edit      success {} faithfulness {} preservation {} locality {} (landmarks) {} (pixels)\n",
                   f("success_rate"), f("faithfulness"), f("preservation"), f("locality_landmarks"),
                   f("locality_pixels"));
  t += fmt::format("  temporal  flicker {} levels (residual {}), landmark jitter {}x the source's\n", f("flicker"),
                   f("residual"), f("jitter_ratio"));
  for (auto& [name, a] : document["attributes"].items())
    t += fmt::format("  {:<10} asked {:+.4f} achieved {:+.4f} success {:.3f}\n", name, a.value("asked", NAN),
                     a.value("achieved", NAN), a.value("success_rate", NAN));
  return t;
}

}  // namespace s3e
