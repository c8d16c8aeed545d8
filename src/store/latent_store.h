// latent_store.h — reading a latent store (docs/formats.md): open validates schema name, version and shapes;
// reads latents/labels/any column by index list (random minibatches, any order, duplicates allowed) or by range;
// scans for NaN/Inf. Works the same on a single file and on an index file whose columns are virtual datasets
// over per-rank shards. Thread-compatible (one reader per thread).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/column_reader.h"
#include "store/h5_util.h"
#include "store/row_file_writer.h"

namespace s3e {

struct NonfiniteReport {
  int64_t nan_values = 0, inf_values = 0, rows_affected = 0;
  int64_t first_bad_row = -1;
};

class LatentStore {
 public:
  // Opens and validates `path` against `schema` (default: the latent store). Throws DataError naming the file.
  explicit LatentStore(const std::filesystem::path& path, const std::string& schema = "s3editor.latent_store");

  const std::filesystem::path& path() const { return path_; }
  int64_t size() const { return num_samples_; }
  int schema_version() const { return schema_version_; }
  const std::vector<int64_t>& latent_shape() const { return latent_shape_; }
  int64_t latent_dim() const;  // product of latent_shape
  int64_t num_attributes() const { return static_cast<int64_t>(attribute_names_.size()); }
  const std::vector<std::string>& attribute_names() const { return attribute_names_; }
  std::string attribute_text(const std::string& name) const;  // a string attribute of the root ("" if missing)
  hid_t file() const { return file_; }

  bool has_column(const std::string& name) const;
  std::vector<int64_t> column_shape(const std::string& name) const;  // [N, ...]
  bool is_virtual(const std::string& name) const;

  // Rows `indices` of a float column into `out` (indices.size() * row_elements floats, in the order asked).
  void read_rows_f32(const std::string& column, const std::vector<int64_t>& indices, float* out) const;
  void read_rows_i64(const std::string& column, const std::vector<int64_t>& indices, int64_t* out) const;
  void read_range_f32(const std::string& column, int64_t begin, int64_t count, float* out) const;
  void read_range_i64(const std::string& column, int64_t begin, int64_t count, int64_t* out) const;
  std::vector<float> read_array_f32(const std::string& name) const;   // a whole dataset
  std::vector<int32_t> read_array_i32(const std::string& name) const;
  std::vector<int64_t> read_array_i64(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;

  void read_latents(const std::vector<int64_t>& indices, float* out) const { read_rows_f32("latents", indices, out); }
  void read_labels(const std::vector<int64_t>& indices, float* out) const { read_rows_f32("labels", indices, out); }

  // Streams a float column and counts NaN/Inf values (bounded memory).
  NonfiniteReport scan_nonfinite(const std::string& column) const;

 private:
  hid_t dataset(const std::string& name) const;
  const ColumnReader& reader(const std::string& column) const;
  std::filesystem::path path_;
  H5Id file_;
  int schema_version_ = 0;
  int64_t num_samples_ = 0;
  std::vector<int64_t> latent_shape_;
  std::vector<std::string> attribute_names_;
  mutable std::vector<std::pair<std::string, H5Id>> open_datasets_;
  mutable std::vector<std::pair<std::string, std::unique_ptr<ColumnReader>>> readers_;
};

}  // namespace s3e
