// s3editor inspect — summarises latent stores and synthetic-truth files: schema, samples, shapes, layout
// (single file or virtual dataset over shards), size on disk, label balance, NaN/Inf count. Text or --json.
#include "pipeline/inspect.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <iostream>

#include "core/errors.h"
#include "store/latent_store.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

int64_t bytes_on_disk(const fs::path& path, const std::vector<int64_t>& shard_rows) {
  int64_t total = fs::file_size(path);
  // Shards named next to the index count too.
  for (auto& entry : fs::directory_iterator(path.parent_path().empty() ? "." : path.parent_path())) {
    std::string name = entry.path().filename().string();
    std::string prefix = path.stem().string() + ".shard-";
    if (name.rfind(prefix, 0) == 0 &&
        name.find(fmt::format("-of-{:05d}.h5", shard_rows.size())) != std::string::npos)
      total += fs::file_size(entry.path());
  }
  return total;
}

nlohmann::json inspect_file(const fs::path& path, bool scan) {
  h5_quiet();
  std::string schema;
  nlohmann::json j;
  std::unique_ptr<LatentStore> store;
  try {
    store = std::make_unique<LatentStore>(path, k_store_schema);
    schema = k_store_schema;
  } catch (const DataError& e) {
    if (std::string(e.what()).find("schema is 's3editor.synth_truth'") == std::string::npos) throw;
    store = std::make_unique<LatentStore>(path, k_truth_schema);
    schema = k_truth_schema;
  }
  j["file"] = path.string();
  j["schema"] = schema;
  j["schema_version"] = store->schema_version();
  j["source"] = store->attribute_text("source");
  j["num_samples"] = store->size();
  j["latent_shape"] = store->latent_shape();
  std::vector<int64_t> shard_rows;
  if (h5_attr_exists(store->file(), "shard_rows"))
    shard_rows = h5_attr_read_int64s(store->file(), "shard_rows", path.string());
  j["shards"] = shard_rows.size();
  j["shard_rows"] = shard_rows;
  j["bytes_on_disk"] = bytes_on_disk(path, shard_rows);
  j["attributes"] = store->attribute_names();
  if (schema == k_store_schema) {
    j["virtual"] = store->is_virtual(k_col_latents);
    j["videos"] = store->has_column(k_ds_video_names) ? store->read_strings(k_ds_video_names).size() : 0;
    // Label balance: share of positive labels per attribute (streamed).
    const int64_t a = store->num_attributes(), n = store->size();
    std::vector<double> positive(a, 0), known(a, 0);
    std::vector<float> buf;
    const int64_t block = 65536;
    for (int64_t b = 0; b < n && a > 0; b += block) {
      int64_t m = std::min(block, n - b);
      buf.resize(m * a);
      store->read_range_f32(k_col_labels, b, m, buf.data());
      for (int64_t r = 0; r < m; ++r)
        for (int64_t k = 0; k < a; ++k) {
          float v = buf[r * a + k];
          if (std::isnan(v)) continue;
          known[k] += 1;
          positive[k] += v > 0.5f;
        }
    }
    nlohmann::json balance = nlohmann::json::object();
    for (int64_t k = 0; k < a; ++k) balance[store->attribute_names()[k]] = known[k] ? positive[k] / known[k] : 0.0;
    j["label_positive_share"] = balance;
    if (scan) {
      auto report = store->scan_nonfinite(k_col_latents);
      j["latents_nan"] = report.nan_values;
      j["latents_inf"] = report.inf_values;
      j["latents_rows_nonfinite"] = report.rows_affected;
    }
    nlohmann::json side = nlohmann::json::array();
    if (store->has_column("side"))
      for (const char* name : {"side/landmarks", "side/identity", "side/crop_quad", "side/detection_score"})
        if (store->has_column(name)) side.push_back(name);
    j["side_columns"] = side;
  }
  return j;
}

void print_text(const nlohmann::json& j) {
  std::cout << fmt::format("{}\n  schema       {} v{} (source: {})\n", j["file"].get<std::string>(),
                           j["schema"].get<std::string>(), j["schema_version"].get<int>(),
                           j["source"].get<std::string>());
  std::string shape;
  for (auto& d : j["latent_shape"]) shape += (shape.empty() ? "" : "x") + std::to_string(d.get<int64_t>());
  std::cout << fmt::format("  samples      {} of shape {}\n", j["num_samples"].get<int64_t>(), shape);
  std::cout << fmt::format("  layout       {} shard(s){}; {:.1f} MiB on disk\n", j["shards"].get<size_t>(),
                           j.value("virtual", false) ? ", virtual datasets over shards" : "",
                           j["bytes_on_disk"].get<int64_t>() / 1048576.0);
  if (j.contains("latents_nan"))
    std::cout << fmt::format("  non-finite   {} NaN, {} Inf in {} latent rows\n", j["latents_nan"].get<int64_t>(),
                             j["latents_inf"].get<int64_t>(), j["latents_rows_nonfinite"].get<int64_t>());
  if (j.contains("videos")) std::cout << fmt::format("  videos       {}\n", j["videos"].get<size_t>());
  if (j.contains("label_positive_share") && !j["label_positive_share"].empty()) {
    std::cout << "  labels       share positive per attribute:\n";
    int col = 0;
    for (auto& [name, share] : j["label_positive_share"].items()) {
      std::cout << fmt::format("{}{:<22} {:5.3f}", col == 0 ? "    " : "   ", name, share.get<double>());
      if (++col == 3) std::cout << "\n", col = 0;
    }
    if (col) std::cout << "\n";
  } else {
    std::cout << fmt::format("  attributes   {}\n", j["attributes"].size());
  }
}

}  // namespace

void pipeline_inspect_add_config(ConfigSchema&) {}

int pipeline_inspect_run(Communicator& comm, const InspectOptions& options) {
  auto files = options.files;
  if (files.empty()) throw UsageError("inspect needs at least one file");
  if (comm.rank() != 0) return 0;
  nlohmann::json all = nlohmann::json::array();
  for (auto& f : files) all.push_back(inspect_file(f, !options.no_scan));
  if (options.json) {
    std::cout << all.dump(2) << "\n";
  } else {
    for (auto& j : all) print_text(j);
  }
  return 0;
}

}  // namespace s3e
