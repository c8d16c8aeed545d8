#include "pipeline/ingest_index.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/clock_text.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "pipeline/ingest_item.h"
#include "store/latent_store.h"
#include "store/store_schema.h"
#include "store/virtual_index.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {
namespace {

constexpr const char* k_thresholds_file = "label_thresholds.json";

// numpy.quantile's default (linear interpolation between the two nearest ranks) over the finite values.
float quantile(std::vector<float> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); }), values.end());
  if (values.empty()) return std::nanf("");
  std::sort(values.begin(), values.end());
  const double pos = q * double(values.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(values.size() - 1, lo + 1);
  return float(values[lo] + (pos - double(lo)) * (values[hi] - values[lo]));
}

double descriptor_distance(const float* a, const float* b) {
  double d = 0;
  for (int k = 0; k < 128; ++k) d += (a[k] - b[k]) * double(a[k] - b[k]);
  return std::sqrt(d);
}

struct DoneItem {
  const IngestItem* item = nullptr;
  fs::path file;
  int64_t rows = 0;
  json info;
};

// The thresholds the labels use, and where they came from.
std::vector<float> label_thresholds(const IngestIndexOptions& o, const std::vector<std::string>& names,
                                    const std::vector<float>& measures, int64_t rows, std::string* source) {
  const size_t A = names.size();
  if (!o.thresholds_from.empty()) {
    LatentStore other(o.thresholds_from);
    if (other.attribute_names() != names)
      throw DataError(fmt::format("{}: its attributes differ from this backbone's; its thresholds cannot label this "
                                  "store (ingest.thresholds_from)", o.thresholds_from));
    *source = "from " + o.thresholds_from;
    return other.read_array_f32("label_thresholds");
  }
  const fs::path kept = o.run_dir / k_thresholds_file;
  if (fs::exists(kept) && !o.relabel) {
    json j = json::parse(file_read_all(kept));
    if (j.at("attribute_names").get<std::vector<std::string>>() != names || j.at("quantile").get<double>() != o.label_quantile)
      throw UsageError(fmt::format("{} holds label thresholds for other attributes or another quantile; set "
                                   "ingest.relabel = true to recompute them (rows are then relabelled)", kept.string()));
    *source = fmt::format("kept from {} ({} rows, {})", kept.string(), j.at("rows").get<int64_t>(),
                          j.at("computed_utc").get<std::string>());
    return j.at("thresholds").get<std::vector<float>>();
  }
  std::vector<float> thresholds(A);
  std::vector<float> column(static_cast<size_t>(rows));
  for (size_t a = 0; a < A; ++a) {
    for (int64_t r = 0; r < rows; ++r) column[size_t(r)] = measures[size_t(r) * A + a];
    thresholds[a] = quantile(column, o.label_quantile);
  }
  json j = {{"attribute_names", names}, {"quantile", o.label_quantile}, {"thresholds", thresholds},
            {"rows", rows}, {"computed_utc", clock_utc_text()}};
  file_write_atomic(kept, j.dump(1) + "\n");
  *source = fmt::format("computed over {} rows (kept in {})", rows, kept.string());
  return thresholds;
}

}  // namespace

IngestIndexSummary ingest_index_write(const IngestIndexOptions& o, const std::vector<std::string>& inputs,
                                      const std::vector<IngestItem>& items, const ItemLedger& ledger,
                                      const BackboneInfo& backbone, bool has_measures,
                                      const std::vector<ColumnSpec>& item_columns) {
  IngestIndexSummary summary;
  const size_t A = has_measures ? backbone.attribute_names.size() : 0;

  // 1. The done items, in plan order (input, then range), and their rows.
  std::vector<DoneItem> done;
  std::map<int64_t, std::vector<const IngestItem*>> items_of_input;
  std::map<std::string, ItemStatus> status_of;  // read once: the video table below needs it again
  for (const IngestItem& item : items) {
    items_of_input[item.input].push_back(&item);
    const ItemStatus status = status_of[item.id] = ledger.status(item.id);
    switch (status) {
      case ItemStatus::done: {
        DoneItem d;
        d.item = &item;
        d.file = o.run_dir / o.item_dir / (item.id + ".h5");
        d.rows = virtual_index_check_source(d.file, k_ingest_item_schema, item_columns);
        d.info = ledger.done_record(item.id)->info;
        done.push_back(d);
        ++summary.items_done;
        break;
      }
      case ItemStatus::failed: ++summary.items_failed; break;
      case ItemStatus::pending: ++summary.items_pending; break;
    }
  }
  int64_t N = 0;
  std::map<std::string, json> info_of;
  for (auto& d : done) N += d.rows, info_of[d.item->id] = d.info;
  if (N == 0)
    throw DataError(fmt::format("ingest: no face rows in any of the {} input(s) ({} item(s) done, {} failed: see {})",
                                inputs.size(), summary.items_done, summary.items_failed,
                                (o.run_dir / "failed.csv").string()));
  summary.rows = N;

  // 2. Per row: video, global track, measures.
  std::vector<int64_t> video_index, track_id;
  std::vector<float> measures;
  video_index.reserve(size_t(N)), track_id.reserve(size_t(N));
  struct GlobalTrack { std::vector<float> descriptor; int64_t rows = 0; };
  std::map<int64_t, std::vector<GlobalTrack>> tracks_of_input;
  for (auto& d : done) {
    if (d.rows == 0) continue;
    LatentStore f(d.file, k_ingest_item_schema);
    std::vector<int64_t> local(size_t(d.rows));
    f.read_range_i64("side/track", 0, d.rows, local.data());
    // Join this item's tracks to the video's tracks so far: greedily by descriptor distance, one match each.
    auto ids = f.read_array_i64("tracks/id");
    auto desc = f.read_array_f32("tracks/descriptor");
    auto counts = f.read_array_i64("tracks/rows");
    auto& global = tracks_of_input[d.item->input];
    std::vector<std::tuple<double, size_t, size_t>> pairs;
    for (size_t t = 0; t < ids.size(); ++t)
      for (size_t g = 0; g < global.size(); ++g) {
        double dist = descriptor_distance(&desc[t * 128], global[g].descriptor.data());
        if (dist < o.identity_distance) pairs.emplace_back(dist, t, g);
      }
    std::sort(pairs.begin(), pairs.end());
    std::map<int64_t, int64_t> global_of;
    std::vector<bool> used(global.size(), false);
    for (auto& [dist, t, g] : pairs)
      if (!global_of.count(ids[t]) && !used[g]) global_of[ids[t]] = int64_t(g), used[g] = true;
    for (size_t t = 0; t < ids.size(); ++t) {
      if (!global_of.count(ids[t])) {
        global_of[ids[t]] = int64_t(global.size());
        global.push_back({std::vector<float>(128, 0.f), 0});
      }
      GlobalTrack& g = global[size_t(global_of[ids[t]])];  // running mean weighted by rows
      for (int k = 0; k < 128; ++k)
        g.descriptor[k] += (desc[t * 128 + k] - g.descriptor[k]) * float(counts[t]) / float(g.rows + counts[t]);
      g.rows += counts[t];
    }
    for (int64_t r = 0; r < d.rows; ++r) {
      video_index.push_back(d.item->input);
      track_id.push_back(global_of.at(local[size_t(r)]));
    }
    if (A > 0) {
      std::vector<float> m(size_t(d.rows) * A);
      f.read_range_f32("measures", 0, d.rows, m.data());
      measures.insert(measures.end(), m.begin(), m.end());
    }
  }

  // 3. Labels from the thresholds.
  std::vector<float> thresholds, labels(size_t(N) * A);
  if (A > 0) {
    thresholds = label_thresholds(o, backbone.attribute_names, measures, N, &summary.thresholds_source);
    if (thresholds.size() != A) throw DataError("ingest: label thresholds do not match the attributes");
    for (size_t i = 0; i < labels.size(); ++i) {
      const float m = measures[i], th = thresholds[i % A];
      labels[i] = std::isfinite(m) && std::isfinite(th) ? (m > th ? 1.f : 0.f) : std::nanf("");
    }
  }

  // 4. The video table, in input order.
  const size_t V = inputs.size();
  std::vector<std::string> v_sha(V), v_status(V);
  std::vector<int64_t> v_frames(V, 0), v_rows(V, 0), v_width(V, 0), v_height(V, 0);
  std::vector<float> v_duration(V, 0), v_fps(V, 0);
  for (size_t v = 0; v < V; ++v) {
    int n_done = 0, n_failed = 0, n_all = 0;
    std::string reason;
    for (const IngestItem* item : items_of_input[int64_t(v)]) {
      ++n_all;
      const ItemStatus st = status_of.at(item->id);
      if (st == ItemStatus::done) {
        ++n_done;
        const json& info = info_of.at(item->id);
        if (info.contains("sha256")) v_sha[v] = info["sha256"].get<std::string>();
        v_frames[v] += info.value("frames", int64_t(0));
        v_rows[v] += info.value("rows", int64_t(0));
        v_width[v] = info.value("width", 0), v_height[v] = info.value("height", 0);
        v_duration[v] = info.value("duration_s", 0.f), v_fps[v] = info.value("fps", 0.f);
      } else if (st == ItemStatus::failed) {
        ++n_failed;
        if (reason.empty()) reason = ledger.failed_record(item->id)->reason;
      }
    }
    if (n_failed > 0) v_status[v] = "failed: " + reason, ++summary.videos_failed;
    else if (n_done < n_all) v_status[v] = fmt::format("partial: {} of {} ranges", n_done, n_all), ++summary.videos_partial;
    else if (v_rows[v] == 0) v_status[v] = "no face", ++summary.videos_without_face;
    else v_status[v] = "done", ++summary.videos_done;
  }
  summary.videos = int64_t(V);

  // 5. The index: virtual columns over the item files, and what was computed above.
  std::vector<std::string> files, ids;
  std::vector<int64_t> rows;
  for (auto& d : done) {
    files.push_back(virtual_index_source_name(o.out, d.file));
    rows.push_back(d.rows);
    ids.push_back(d.item->id);
  }
  file_ensure_writable_dir(o.out.parent_path().empty() ? fs::path(".") : o.out.parent_path());
  virtual_index_write(o.out, k_store_schema, k_store_schema_version, item_columns, files, rows, "item_rows",
                      [&](RowFileWriter& w) {
    w.set_attr_int64s("latent_shape", backbone.latent_shape);
    w.write_strings(k_ds_attribute_names, has_measures ? backbone.attribute_names : std::vector<std::string>{});
    w.write_array_f32(k_col_labels, {N, int64_t(A)}, labels.data());
    w.write_array_i64(k_col_video_index, {N}, video_index.data());
    w.write_array_i64("side/track_id", {N}, track_id.data());
    w.write_strings("item_ids", ids);
    w.write_strings(k_ds_video_names, inputs);
    w.write_strings("videos/sha256", v_sha);
    w.write_strings("videos/status", v_status);
    w.write_array_i64("videos/frames", {int64_t(V)}, v_frames.data());
    w.write_array_i64("videos/rows", {int64_t(V)}, v_rows.data());
    w.write_array_i64("videos/width", {int64_t(V)}, v_width.data());
    w.write_array_i64("videos/height", {int64_t(V)}, v_height.data());
    w.write_array_f32("videos/duration_s", {int64_t(V)}, v_duration.data());
    w.write_array_f32("videos/fps", {int64_t(V)}, v_fps.data());
    if (A > 0) {
      w.write_array_f32("label_thresholds", {int64_t(A)}, thresholds.data());
      w.set_attr_string("label_quantile", fmt::format("{}", o.label_quantile));
      w.set_attr_string("label_thresholds_source", summary.thresholds_source);
    }
    w.set_attr_string("source", "ingest");
    w.set_attr_string("backbone", o.backbone_spec);
    w.set_attr_string("backbone_name", backbone.name);
    w.set_attr_string("backbone_kind", backbone.kind);
    w.set_attr_string("backbone_fingerprint", backbone.fingerprint);
    w.set_attr_int64s("backbone_crop_size", {backbone.crop_size});
    w.write_array_i64("backbone/editable_dims", {int64_t(backbone.editable_dims.size())}, backbone.editable_dims.data());
    if (!backbone.region_of_dim.empty()) {
      w.write_strings("backbone/region_names", backbone.region_names);
      w.write_array_i32("backbone/region_of_dim", {int64_t(backbone.region_of_dim.size())}, backbone.region_of_dim.data());
    }
    if (has_measures && backbone.attribute_regions.size() == A && !backbone.region_names.empty()) {
      const size_t R = backbone.region_names.size();
      std::vector<int32_t> targets(A * R, 0);
      for (size_t a = 0; a < A; ++a)
        for (int32_t r : backbone.attribute_regions[a]) targets[a * R + size_t(r)] = 1;
      w.write_array_i32("backbone/attribute_regions", {int64_t(A), int64_t(R)}, targets.data());
    }
  });
  return summary;
}

}  // namespace s3e
