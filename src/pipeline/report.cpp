// s3editor report — one self-contained HTML page about what the stages wrote under a folder (pipeline/report.h).
// Rank 0 does all the work: the report reads small files (manifests, logs, metrics, masks) and a few frames.
#include "pipeline/report.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "core/build_info.h"
#include "core/clock_text.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "face/face_models.h"
#include "media/media_limits.h"
#include "pipeline/report_charts.h"
#include "pipeline/report_frames.h"
#include "pipeline/report_html.h"
#include "pipeline/report_scan.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

// Figure names are unique on the page (the screenshot test and readers address figures by them).
class FigureNames {
 public:
  std::string take(const std::string& wanted) {
    std::string name = wanted;
    for (int n = 2; !used_.insert(name).second; ++n) name = fmt::format("{}#{}", wanted, n);
    return name;
  }

 private:
  std::set<std::string> used_;
};

std::string number_text(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "–"; }

std::string cell_text(const nlohmann::json& v) {
  if (v.is_null()) return "–";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return number_text(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

std::string na(const std::string& what) { return "<p class=\"na\">not available: " + html_escape(what) + "</p>"; }

struct Context {
  const ReportScan& scan;
  ReportPage& page;
  FigureNames names;
  const Config& cfg;

  // A path under the input folder as relative text (shorter, and stable when the folder moves).
  std::string rel(const fs::path& p) const {
    const fs::path n = p.lexically_normal();
    const fs::path r = n.lexically_relative(scan.root);
    if (!r.empty() && r.native().rfind("..", 0) != 0) return r.string();
    return n.string();
  }
  void chart(ReportChart c) {
    c.figure = names.take(c.figure);
    page.chart(c);
  }
};

// ---- lineage ----

std::string io_table(const nlohmann::json& files, const std::map<std::string, std::string>& producers,
                     const Context& ctx) {
  if (!files.is_object() || files.empty()) return "<p>none</p>";
  std::string t = "<table><thead><tr><th>key</th><th>path</th><th>kind</th><th>bytes</th><th>sha256</th>"
                  "<th>written by</th></tr></thead><tbody>";
  for (auto& [key, f] : files.items()) {
    const std::string sha = f.value("sha256", std::string());
    // The stage that wrote this very file, else one that wrote the same bytes elsewhere (a copy).
    auto producer = producers.find(sha + "|" + f.value("path", std::string()));
    if (producer == producers.end()) producer = producers.find(sha);
    t += fmt::format("<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td>"
                     "<td class=\"sha\" title=\"{}\">{}</td><td>{}</td></tr>",
                     html_escape(key), html_escape(ctx.rel(f.value("path", std::string()))),
                     html_escape(f.value("kind", std::string())), html_escape(cell_text(f.value("bytes", nlohmann::json()))),
                     html_escape(sha), html_escape(sha.substr(0, 12)),
                     html_escape(producer == producers.end() ? "" : producer->second));
  }
  return t + "</tbody></table>";
}

void add_lineage(Context& ctx) {
  ReportPage& page = ctx.page;
  page.section("lineage", "Lineage");
  if (ctx.scan.manifests.empty()) {
    page.html(na("no run manifest (<stage>.manifest.json) under the folder"));
    return;
  }
  std::vector<const ReportJsonFile*> manifests;
  for (auto& m : ctx.scan.manifests) manifests.push_back(&m);
  std::stable_sort(manifests.begin(), manifests.end(), [](const ReportJsonFile* a, const ReportJsonFile* b) {
    return a->json.value("started_utc", std::string()) < b->json.value("started_utc", std::string());
  });
  // Which stage wrote a file: a downstream input's hash equals its upstream's output hash. Keyed by hash and path
  // first, since points of a sweep write equal bytes (the same seed's world) under different paths.
  std::map<std::string, std::string> producers;
  for (auto* m : manifests)
    if (m->json.contains("outputs") && m->json["outputs"].is_object())
      for (auto& [key, f] : m->json["outputs"].items()) {
        const std::string sha = f.value("sha256", std::string());
        if (sha.empty()) continue;
        const std::string who = m->json.value("stage", std::string("?")) + " (" + ctx.rel(m->path.parent_path()) + ")";
        producers[sha + "|" + f.value("path", std::string())] = who;
        producers.emplace(sha, who);
      }
  std::vector<std::vector<std::string>> rows;
  for (auto* m : manifests) {
    const auto& j = m->json;
    const nlohmann::json program = j.value("program", nlohmann::json::object());
    rows.push_back({j.value("stage", std::string("?")), j.value("outcome", std::string("?")),
                    ctx.rel(m->path.parent_path()), j.value("started_utc", std::string()),
                    cell_text(j.value("seconds", nlohmann::json())), cell_text(j.value("world_size", nlohmann::json())),
                    program.value("git_commit", std::string()).substr(0, 12)});
  }
  page.table({"stage", "outcome", "run folder", "started (UTC)", "seconds", "ranks", "commit"}, rows);
  // Many stages (a sweep's points): their details folded away, so the page's charts are not pages down.
  const bool fold = manifests.size() > 8;
  if (fold)
    page.html(fmt::format("<details><summary>inputs, outputs and effective config of each of the {} stages</summary>",
                          manifests.size()));
  for (auto* m : manifests) {
    const auto& j = m->json;
    std::string h = fmt::format("<h3>{} <span class=\"meta\">— {}, <code>{}</code></span></h3>",
                                html_escape(j.value("stage", std::string("?"))),
                                html_escape(j.value("outcome", std::string("?"))), html_escape(ctx.rel(m->path)));
    h += "<p>inputs</p>" + io_table(j.value("inputs", nlohmann::json::object()), producers, ctx);
    h += "<p>outputs</p>" + io_table(j.value("outputs", nlohmann::json::object()), {}, ctx);
    const nlohmann::json config = j.value("config", nlohmann::json::object());
    size_t set = 0;
    std::string t = "<table><thead><tr><th>key</th><th>value</th><th>from</th></tr></thead><tbody>";
    for (auto& [key, entry] : config.items()) {
      const std::string source = entry.is_object() ? entry.value("source", std::string()) : "";
      set += source != "default";
      t += fmt::format("<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>", html_escape(key),
                       html_escape(entry.is_object() ? cell_text(entry.value("value", nlohmann::json())) : cell_text(entry)),
                       html_escape(source));
    }
    t += "</tbody></table>";
    h += fmt::format("<details><summary>effective config ({} keys, {} not default)</summary>{}</details>",
                     config.size(), set, t);
    page.html(h);
  }
  if (fold) page.html("</details>");
}

// ---- metric tables ----

void add_latent_metrics(Context& ctx, const ReportJsonFile& f) {
  ReportPage& page = ctx.page;
  const auto& j = f.json;
  page.html(fmt::format("<h3>latent metrics <span class=\"meta\">— <code>{}</code></span></h3>",
                        html_escape(ctx.rel(f.path))));
  // One report, or a curve of reports by strength.
  std::vector<std::pair<std::string, const nlohmann::json*>> reports;
  if (f.schema == "s3editor.latent_metrics_curve" && j.contains("by_strength") && j["by_strength"].is_array()) {
    for (auto& r : j["by_strength"]) reports.emplace_back(cell_text(r.value("strength", nlohmann::json())), &r);
  } else {
    reports.emplace_back(cell_text(j.value("strength", nlohmann::json())), &j);
  }
  if (reports.empty()) {
    page.html(na("the file holds no report"));
    return;
  }
  const nlohmann::json& first = *reports[0].second;
  page.text(fmt::format("judged by {}; {} rows; transform {}", first.value("judged_by", std::string("?")),
                        cell_text(first.value("rows", nlohmann::json::object()).value("count", nlohmann::json())),
                        first.value("inputs", nlohmann::json::object()).value("transform", std::string("?"))));
  std::vector<std::string> metrics;
  if (first.contains("metrics") && first["metrics"].is_array())
    for (auto& m : first["metrics"]) metrics.push_back(cell_text(m));
  std::vector<std::string> header = {"strength", "split", "attributes"};
  header.insert(header.end(), metrics.begin(), metrics.end());
  std::vector<std::vector<std::string>> rows, per_attribute;
  for (auto& [strength, r] : reports) {
    if (r->contains("summary") && (*r)["summary"].is_object())
      for (auto& [split, s] : (*r)["summary"].items()) {
        std::vector<std::string> row = {strength, split, cell_text(s.value("attributes", nlohmann::json()))};
        for (auto& m : metrics) row.push_back(cell_text(s.value(m, nlohmann::json())));
        rows.push_back(row);
      }
    if (r->contains("attributes") && (*r)["attributes"].is_array())
      for (auto& a : (*r)["attributes"]) {
        std::vector<std::string> row = {strength, a.value("name", std::string()), a.value("split", std::string())};
        for (auto& m : metrics) row.push_back(cell_text(a.value(m, nlohmann::json())));
        per_attribute.push_back(row);
      }
  }
  page.table(header, rows);
  if (!per_attribute.empty()) {
    page.html(fmt::format("<details><summary>per attribute ({} rows)</summary>", per_attribute.size()));
    std::vector<std::string> h2 = {"strength", "attribute", "split"};
    h2.insert(h2.end(), metrics.begin(), metrics.end());
    page.table(h2, per_attribute);
    page.html("</details>");
  }
}

// A video's name: its "video" (the item id), else its source file's name.
std::string video_name(const nlohmann::json& v, size_t index) {
  if (v.contains("video") && v["video"].is_string()) return v["video"].get<std::string>();
  if (v.contains("source") && v["source"].is_string()) return fs::path(v["source"].get<std::string>()).stem().string();
  return fmt::format("video {}", index);
}

// The metric keys of a video_metrics summary, in its order (numbers only).
std::vector<std::string> video_metric_keys(const nlohmann::json& summary) {
  std::vector<std::string> keys;
  if (summary.is_object())
    for (auto& [k, v] : summary.items())
      if (k != "videos" && k != "videos_evaluated" && (v.is_number() || v.is_null())) keys.push_back(k);
  return keys;
}

void add_video_metrics(Context& ctx, const ReportJsonFile& f) {
  ReportPage& page = ctx.page;
  const auto& j = f.json;
  page.html(fmt::format("<h3>video metrics <span class=\"meta\">— <code>{}</code></span></h3>",
                        html_escape(ctx.rel(f.path))));
  page.text(fmt::format("edited: {}; identity net: {}", j.value("edited", std::string("?")),
                        j.value("identity_net", std::string("?"))));
  const nlohmann::json summary = j.value("summary", nlohmann::json::object());
  std::vector<std::vector<std::string>> rows;
  for (auto& [k, v] : summary.items()) rows.push_back({k, cell_text(v)});
  if (!rows.empty()) page.table({"summary", "value"}, rows);
  rows.clear();
  if (j.contains("attributes") && j["attributes"].is_object())
    for (auto& [name, a] : j["attributes"].items())
      rows.push_back({name, cell_text(a.value("asked", nlohmann::json())), cell_text(a.value("achieved", nlohmann::json())),
                      cell_text(a.value("success_rate", nlohmann::json()))});
  if (!rows.empty()) page.table({"measure", "asked", "achieved", "success rate"}, rows);
  const std::vector<std::string> keys = video_metric_keys(summary);
  rows.clear();
  if (j.contains("videos") && j["videos"].is_array())
    for (auto& v : j["videos"]) {
      std::vector<std::string> row = {video_name(v, rows.size()), v.value("status", std::string())};
      for (auto& k : keys) {
        const nlohmann::json x = v.value(k, nlohmann::json());
        row.push_back(x.is_number() ? cell_text(x) : "–");
      }
      rows.push_back(row);
    }
  if (!rows.empty()) {
    std::vector<std::string> header = {"video", "status"};
    header.insert(header.end(), keys.begin(), keys.end());
    page.table(header, rows);
  }
}

void add_sweep_table(Context& ctx, const ReportJsonFile& f) {
  ReportPage& page = ctx.page;
  page.html(fmt::format("<h3>sweep <span class=\"meta\">— <code>{}</code></span></h3>", html_escape(ctx.rel(f.path))));
  const auto rows = report_sweep_rows(f.json);
  if (rows.empty()) {
    page.html(na("no finished point"));
    return;
  }
  std::vector<std::string> header;
  for (auto& [k, v] : rows[0].params) header.push_back(k);
  header.push_back("seeds");
  for (auto& [m, v] : rows[0].mean) header.push_back(m + " (mean ± std)");
  std::vector<std::vector<std::string>> cells;
  for (auto& r : rows) {
    std::vector<std::string> row;
    for (auto& [k, v] : r.params) row.push_back(v);
    row.push_back(std::to_string(r.seeds));
    for (size_t i = 0; i < r.mean.size(); ++i)
      row.push_back(number_text(r.mean[i].second) + " ± " + (i < r.std.size() ? number_text(r.std[i].second) : "–"));
    cells.push_back(row);
  }
  page.table(header, cells);
}

std::string editor_transform_label(const std::string& transform) {
  if (transform == "region_mlp") return "S3Editor";
  if (transform == "lt_linear") return "Latent Transformer";
  if (transform == "linear") return "linear edit";
  return transform;
}

fs::path absolute_normal(const fs::path& p) { return fs::absolute(p).lexically_normal(); }

// Which editor made an evaluated edit: the edit manifest whose output is the metrics' `edited` file names the editor
// folder it read, and the editor.h5 the scan found in that folder gives its transform.
std::string video_editor_label(const Context& ctx, const nlohmann::json& metrics) {
  const std::string edited = metrics.value("edited", std::string());
  if (edited.empty()) return "?";
  const fs::path edited_path = absolute_normal(edited);
  for (auto& m : ctx.scan.manifests) {
    bool writes = false;
    const nlohmann::json outputs = m.json.value("outputs", nlohmann::json::object());  // named: see attributes below
    for (auto& [key, out] : outputs.items())
      writes |= out.is_object() && out.value("path", std::string()) != "" &&
                absolute_normal(out.value("path", std::string())) == edited_path;
    if (!writes) continue;
    const nlohmann::json inputs = m.json.value("inputs", nlohmann::json::object());
    if (!inputs.contains("io.editor") || !inputs["io.editor"].is_object()) return "?";
    const fs::path folder = absolute_normal(inputs["io.editor"].value("path", std::string()));
    for (auto& e : ctx.scan.editors)
      if (e.kind == "editor" && absolute_normal(e.path).parent_path() == folder)
        return fmt::format("{} ({})", editor_transform_label(e.transform), ctx.rel(folder));
    return ctx.rel(folder);
  }
  return "?";
}

// One row per evaluation of edited videos, so editors judged on the same clip sit side by side.
void add_video_comparison(Context& ctx) {
  std::vector<std::vector<std::string>> rows;
  for (auto& f : ctx.scan.video_metrics) {
    const nlohmann::json summary = f.json.value("summary", nlohmann::json::object());
    std::string asked, achieved, success;
    // Named: items() of a temporary would refer to an object destroyed before the loop body runs.
    const nlohmann::json attributes = f.json.value("attributes", nlohmann::json::object());
    for (auto& [name, a] : attributes.items()) {
      const std::string sep = asked.empty() ? "" : "; ";
      asked += sep + name + " " + cell_text(a.value("asked", nlohmann::json()));
      achieved += sep + cell_text(a.value("achieved", nlohmann::json()));
      success += sep + cell_text(a.value("success_rate", nlohmann::json()));
    }
    auto get = [&](const char* key) { return cell_text(summary.value(key, nlohmann::json())); };
    rows.push_back({ctx.rel(f.path.parent_path()), video_editor_label(ctx, f.json), asked, get("id"), get("tl_id"),
                    get("tg_id"), achieved, success, get("locality_landmarks"), get("flicker"),
                    get("frames_evaluated") + " / " + get("frames")});
  }
  ctx.page.html("<h3>edited videos compared <span class=\"meta\">— one row per eval run; ID: centred descriptor "
                "cosine, edited vs source (1 = same face)</span></h3>");
  ctx.page.table({"eval run", "editor", "edit asked", "ID", "TL-ID", "TG-ID", "achieved", "success", "locality (landmarks)",
                  "flicker", "frames judged"},
                 rows);
}

void add_metrics(Context& ctx) {
  ctx.page.section("metrics", "Metrics");
  const auto& s = ctx.scan;
  if (s.latent_metrics.empty() && s.video_metrics.empty() && s.sweeps.empty())
    ctx.page.html(na("no metrics file (eval-latent, eval or sweep output) under the folder"));
  if (!s.video_metrics.empty()) add_video_comparison(ctx);
  for (auto& f : s.latent_metrics) add_latent_metrics(ctx, f);
  for (auto& f : s.video_metrics) add_video_metrics(ctx, f);
  for (auto& f : s.sweeps) add_sweep_table(ctx, f);
}

// ---- charts ----

void add_training(Context& ctx) {
  std::vector<ReportChart> losses, sparsity;
  for (auto& log : ctx.scan.train_logs) {
    const std::string rel = ctx.rel(log.path);
    for (auto& c : report_train_charts(log, "train:" + rel, rel))
      (c.figure.size() > 9 && c.figure.compare(c.figure.size() - 9, 9, ":sparsity") == 0 ? sparsity : losses)
          .push_back(std::move(c));
  }
  ctx.page.section("training", "Training curves");
  if (losses.empty()) ctx.page.html(na("no training log (logs/*.jsonl with a step per line) under the folder"));
  for (auto& c : losses) ctx.chart(c);
  ctx.page.section("sparsity", "Group sparsity over time");
  if (sparsity.empty()) ctx.page.html(na("no training log with sparsity columns under the folder"));
  for (auto& c : sparsity) ctx.chart(c);
}

void add_ablations(Context& ctx) {
  ctx.page.section("ablations", "Ablation curves");
  size_t drawn = 0;
  for (auto& f : ctx.scan.sweeps) {
    auto charts = report_ablation_charts(f.json, "ablation:" + ctx.rel(f.path));
    if (charts.empty()) continue;
    ctx.page.html(fmt::format("<h3>{}</h3>", html_escape(ctx.rel(f.path))));
    for (auto& c : charts) ctx.chart(c);
    drawn += charts.size();
  }
  if (!drawn) ctx.page.html(na("no sweep (sweep.json) with an axis of two or more values under the folder"));
}

fs::path video_path(const nlohmann::json& v, const char* key, const fs::path& metrics_file) {
  if (!v.contains(key) || !v[key].is_string()) return {};
  fs::path p = v[key].get<std::string>();
  if (p.empty()) return {};
  return p.is_absolute() ? p : metrics_file.parent_path() / p;
}

// Calls `show(metrics file, video entry, id)` for every video a report shows (report.max_videos per metrics file),
// so the frame strips and the per-video charts cover the same videos. Returns how many were shown.
size_t for_each_shown_video(Context& ctx,
                            const std::function<void(const ReportJsonFile&, const nlohmann::json&, const std::string&)>& show) {
  const int64_t max_videos = ctx.cfg.get_int("report.max_videos");
  size_t shown = 0;
  for (auto& f : ctx.scan.video_metrics) {
    if (!f.json.contains("videos") || !f.json["videos"].is_array()) continue;
    int64_t n = 0;
    for (auto& v : f.json["videos"]) {
      if (n++ >= max_videos) {
        ctx.page.text(fmt::format("{} more videos in {} are not shown (report.max_videos = {})",
                                  f.json["videos"].size() - size_t(max_videos), ctx.rel(f.path), max_videos));
        break;
      }
      const std::string id = video_name(v, size_t(n - 1));
      // The metrics file says which evaluation (several runs may judge edits of one source video).
      ctx.page.html(fmt::format("<h3>{} <span class=\"meta\">— {}, <code>{}</code></span></h3>", html_escape(id),
                                html_escape(v.value("status", std::string())), html_escape(ctx.rel(f.path))));
      ++shown;
      show(f, v, id);
    }
  }
  return shown;
}

// What a reader of an editing report looks at first: the edited frames next to the source.
void add_frames(Context& ctx) {
  ReportPage& page = ctx.page;
  page.section("frames", "Edited frames beside the source");
  ReportStripOptions strip;
  strip.frames = static_cast<int>(ctx.cfg.get_int("report.frames"));
  strip.max_width = static_cast<int>(ctx.cfg.get_int("report.strip_width"));
  strip.limits = media_limits_from_config(ctx.cfg);
  if (strip.frames <= 0) {
    page.html(na("frame strips are off (report.frames = 0)"));
    return;
  }
  size_t shown = for_each_shown_video(ctx, [&](const ReportJsonFile& f, const nlohmann::json& v, const std::string& id) {
    const fs::path source = video_path(v, "source", f.path), edited = video_path(v, "edited_video", f.path);
    if (source.empty() || edited.empty() || !fs::exists(source) || !fs::exists(edited)) {
      page.html(na(fmt::format("frame strip: source {} or edited video {} is missing",
                               source.empty() ? "(none)" : source.string(), edited.empty() ? "(none)" : edited.string())));
      return;
    }
    try {
      ReportStrip s = report_frame_strip(source.string(), edited.string(), strip);
      std::string times;
      for (double t : s.times) times += (times.empty() ? "" : ", ") + fmt::format("{:.2f} s", t);
      page.picture(ctx.names.take("frames:" + id), s.png,
                   fmt::format("{}: source | edited | change heat map (black: unchanged), at {}", id, times));
    } catch (const Error& e) {
      // A video that cannot be read is reported, not fatal: the rest of the page still tells about the run.
      page.html(na(fmt::format("frame strip: {}", e.what())));
    }
  });
  if (!shown) page.html(na("no video metrics (s3editor eval output) under the folder"));
}

void add_video_charts(Context& ctx) {
  ctx.page.section("videos", "Videos: ID and TL-ID along each video");
  size_t shown = for_each_shown_video(ctx, [&](const ReportJsonFile& f, const nlohmann::json& v, const std::string& id) {
    auto charts = report_video_id_charts(v, "video-id:" + id, id + " (" + ctx.rel(f.path.parent_path()) + ")");
    if (charts.empty()) ctx.page.html(na("no per-frame ID or TL-ID for this video"));
    for (auto& c : charts) ctx.chart(c);
  });
  if (!shown) ctx.page.html(na("no video metrics (s3editor eval output) under the folder"));
}

void add_masks(Context& ctx) {
  ctx.page.section("masks", "Sparse masks and cluster routing");
  if (ctx.scan.editors.empty())
    ctx.page.html(na("no editor (editor.h5) or edit output with routing under the folder"));
  for (auto& e : ctx.scan.editors) {
    const std::string rel = ctx.rel(e.path);
    ctx.page.html(fmt::format("<h3>{} <span class=\"meta\">— <code>{}</code>{}</span></h3>", html_escape(e.kind),
                              html_escape(rel), e.transform.empty() ? "" : ", " + html_escape(e.transform)));
    for (auto& m : e.matrices) {
      const bool masks = m.name == "sparse masks";
      ctx.chart(report_heatmap_chart(m, std::string(masks ? "masks:" : "routing:") + rel,
                                     masks ? "sparse masks (expert × neuron group)"
                                           : "cluster routing (attribute × expert)"));
    }
  }
}

}  // namespace

void pipeline_report_add_config(ConfigSchema& schema) {
  schema.add_text("report.input", "", "folder to report on (a run, a chain root or a sweep); the positional "
                                      "argument / --run wins")
      .add_int("report.frames", 4, "frames per video in its frame strip (0: no strips)", 0, 64)
      .add_int("report.max_videos", 4, "videos per video-metrics file shown with charts and strips", 0, 100000)
      .add_int("report.strip_width", 960, "width in pixels of each row of a frame strip", 96, 8192)
      .add_text("report.chart_js", "", "the charting library's minified file (default: echarts.min.js in the npm "
                                       "cache of jobs/setup.sh)")
      .add_int("report.max_files", 20000, "entries the scan looks at before it stops", 1, 1e9)
      .add_int("report.max_depth", 8, "folder depth the scan goes to", 1, 64)
      .add_int("report.max_json_mib", 64, "larger JSON files are skipped", 1, 1 << 20);
  // The HTML page is a new kind of file in the shared [io] vocabulary (app/stage.cpp holds the others).
  if (!schema.find("io.report")) schema.add_text("io.report", "", "HTML report written by report");
  media_limits_add_keys(schema);
}

fs::path report_find_chart_js(const std::string& configured) {
  if (!configured.empty()) {
    if (!fs::is_regular_file(configured))
      throw UsageError(fmt::format("report.chart_js = {}: no such file (the charting library's minified file, "
                                   "e.g. node_modules/echarts/dist/echarts.min.js)", configured));
    return configured;
  }
  const fs::path found = face_cache_dir() / "node" / "node_modules" / "echarts" / "dist" / "echarts.min.js";
  if (!fs::is_regular_file(found))
    throw UsageError(fmt::format("report: the charting library {} is missing: run jobs/setup.sh (it installs the "
                                 "pinned npm packages), or give --chart-js", found.string()));
  return found;
}

int pipeline_report_run(Communicator& comm, const ReportOptions& options) {
  if (comm.rank() != 0) return 0;
  const Config& cfg = options.run.config;
  const std::string library = file_read_all(options.chart_js);
  ReportScanLimits limits;
  limits.max_depth = static_cast<int>(cfg.get_int("report.max_depth"));
  limits.max_files = cfg.get_int("report.max_files");
  limits.max_json_bytes = cfg.get_int("report.max_json_mib") << 20;
  const ReportScan scan = report_scan(options.input, limits);
  spdlog::info("report: {} entries under {}: {} manifests, {} training logs, {} latent / {} video metrics, {} sweeps, "
               "{} editors or edit outputs", scan.files_seen, scan.root.string(), scan.manifests.size(),
               scan.train_logs.size(), scan.latent_metrics.size(), scan.video_metrics.size(), scan.sweeps.size(),
               scan.editors.size());

  ReportPage page("s3editor report: " + scan.root.filename().string());
  page.html(fmt::format("<p class=\"meta\">folder <code>{}</code> · written {} by s3editor {} ({}) · {} entries "
                        "looked at{}</p>",
                        html_escape(scan.root.string()), clock_utc_text(), build_version(),
                        std::string(build_git_commit()).substr(0, 12), scan.files_seen,
                        scan.truncated ? " (stopped at report.max_files)" : ""));
  Context ctx{scan, page, {}, cfg};
  // A file whose content breaks its schema (a field of another type) spoils its part of the page, not the page.
  // Results first (edited frames, then the numbers, then the plots); where they came from last.
  for (auto add : {add_frames, add_metrics, add_training, add_ablations, add_video_charts, add_masks, add_lineage}) {
    try {
      add(ctx);
    } catch (const nlohmann::json::exception& e) {
      page.html(na(fmt::format("this part stopped at a file that does not follow its schema: {}", e.what())));
    }
  }
  if (!scan.notes.empty()) {
    page.section("notes", "Files skipped");
    std::string list = "<ul>";
    for (auto& n : scan.notes) list += "<li>" + html_escape(n) + "</li>";
    page.html(list + "</ul>");
  }
  if (!options.out.parent_path().empty()) file_ensure_writable_dir(options.out.parent_path());
  file_write_atomic(options.out, page.render(library));
  spdlog::info("report: wrote {} ({} charts)", options.out.string(), page.chart_count());
  return 0;
}

}  // namespace s3e
