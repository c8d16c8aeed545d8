// s3editor import-npy — imports Latent Transformer-format data (.npy latents [N, ...] and labels [N, A]) into a
// sharded latent store. Each rank converts a contiguous block of rows, streaming, so a 30000x18x512 file is never
// held in memory; rows with NaN/Inf are a DataError naming the file and row.
#include "pipeline/import_npy.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "store/output_fingerprint.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "store/npy_reader.h"
#include "store/celeba_attributes.h"
#include "store/store_schema.h"
#include "store/store_shards.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

std::vector<std::string> read_attribute_names(const std::string& file, int64_t count) {
  if (file.empty()) {
    if (count == static_cast<int64_t>(celeba_attribute_names().size())) return celeba_attribute_names();
    std::vector<std::string> names;
    for (int64_t i = 0; i < count; ++i) names.push_back(fmt::format("attr_{:02d}", i));
    return names;
  }
  std::ifstream in(file);
  if (!in) throw UsageError(fmt::format("attribute names file {} cannot be read", file));
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  if (static_cast<int64_t>(names.size()) != count)
    throw DataError(fmt::format("{}: has {} attribute names but the labels have {} columns", file, names.size(), count));
  return names;
}

void check_finite(const float* data, int64_t rows, int64_t row_elems, int64_t first_row, const std::string& file) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < row_elems; ++k)
      if (!std::isfinite(data[r * row_elems + k]))
        throw DataError(fmt::format("{}: row {} holds {} (element {}); clean the data before importing", file,
                                    first_row + r, std::isnan(data[r * row_elems + k]) ? "NaN" : "Inf", k));
}

}  // namespace

void pipeline_import_npy_add_config(ConfigSchema& schema) {
  schema
      .add_int("store.chunk_kib", 64, "target chunk size in KiB (rows per chunk = max(1, target/row bytes))", 1, 1024)
      .add_int("store.compression", 0, "gzip level for row datasets (0 = off; gzip slows random reads 30-50x)", 0, 9);
}

int pipeline_import_npy_run(Communicator& comm, const ImportNpyOptions& options) {
  const StageRun& stage = options.run;
  const std::string latents_file = options.latents;
  const std::string labels_file = options.labels;
  fs::path out = options.out;

  NpyReader latents(latents_file);
  if (latents.header().shape.size() < 2)
    throw DataError(fmt::format("{}: latents must be at least 2-D [N, ...], got {}-D", latents_file,
                                latents.header().shape.size()));
  std::unique_ptr<NpyReader> labels;
  int64_t num_attributes = 0;
  if (!labels_file.empty()) {
    labels = std::make_unique<NpyReader>(labels_file);
    if (labels->header().shape.size() != 2)
      throw DataError(fmt::format("{}: labels must be 2-D [N, A], got {}-D", labels_file, labels->header().shape.size()));
    if (labels->rows() != latents.rows())
      throw DataError(fmt::format("{} has {} rows but {} has {}: they must match", labels_file, labels->rows(),
                                  latents_file, latents.rows()));
    num_attributes = labels->row_elements();
  }
  auto names = read_attribute_names(options.attributes, num_attributes);
  auto latent_shape = latents.row_shape();
  std::string fingerprint = output_fingerprint(stage.config, comm.size(), {latents_file, labels_file});
  if (!stage.fresh && output_is_current(out, k_store_schema, fingerprint)) {
    if (comm.rank() == 0) spdlog::info("{} is already complete for these inputs; nothing to do (--fresh redoes it)", out.string());
    return 0;
  }

  RowFileOptions row_options{stage.config.get_int("store.chunk_kib") * 1024,
                         static_cast<int>(stage.config.get_int("store.compression"))};
  auto columns = store_columns(latent_shape, num_attributes);
  auto [begin, end] = shard_row_range(latents.rows(), comm.rank(), comm.size());
  {
    RowFileWriter shard(shard_path(out, comm.rank(), comm.size()), k_store_schema, k_store_schema_version, columns, row_options);
    shard.set_attr_int64s("latent_shape", latent_shape);
    const int64_t block = std::max<int64_t>(1, (16 << 20) / (latents.row_elements() * 4));  // ~16 MiB per read
    std::vector<float> lat, lab;
    std::vector<int64_t> video, frame;
    Progress progress("import-npy", latents.rows(), (comm.rank() == 0));
    for (int64_t row = begin; row < end; row += block) {
      int64_t n = std::min(block, end - row);
      lat.resize(n * latents.row_elements());
      latents.read_rows_f32(row, n, lat.data());
      check_finite(lat.data(), n, latents.row_elements(), row, latents_file);
      lab.assign(n * num_attributes, 0.0f);
      if (labels) {
        labels->read_rows_f32(row, n, lab.data());
        check_finite(lab.data(), n, num_attributes, row, labels_file);
      }
      video.assign(n, -1);
      frame.resize(n);
      for (int64_t i = 0; i < n; ++i) frame[i] = row + i;
      shard.append(k_col_latents, lat.data(), n);
      shard.append(k_col_labels, lab.data(), n);
      shard.append(k_col_video_index, video.data(), n);
      shard.append(k_col_frame_index, frame.data(), n);
      progress.advance(n * comm.size());
    }
    shard.finalize();
    progress.finish();
  }
  int64_t total = shards_publish_index(comm, out, k_store_schema, k_store_schema_version, columns, end - begin,
                                       [&](RowFileWriter& index) {
                                         index.set_attr_int64s("latent_shape", latent_shape);
                                         index.set_attr_string("source", "npy");
                                         index.set_attr_string("source_files", latents_file + "\n" + labels_file);
                                         index.set_attr_string("config_ini", stage.config.to_ini());
                                         index.set_attr_string("fingerprint", fingerprint);
                                         index.write_strings(k_ds_attribute_names, names);
                                         index.write_strings(k_ds_video_names, {});
                                       });
  if (comm.rank() == 0) spdlog::info("imported {} samples of shape {} with {} attributes into {}", total,
                                  shape_text(latent_shape), num_attributes, out.string());
  return 0;
}

}  // namespace s3e
