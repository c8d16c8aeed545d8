// row_file_writer.h — writes one HDF5 file of row-appendable datasets ("columns": [N, ...row_shape]) plus
// whole arrays and attributes. Streaming: each append extends the datasets, memory stays bounded by the
// caller's batch. Atomic: the file is written under a temporary name and renamed by finalize(); destroying an
// unfinalised writer deletes the temporary file, so a failed run never leaves a partial file under the final name.
// Also writes virtual columns that join the same column of several shard files (HDF5 virtual datasets).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/h5_util.h"

namespace s3e {

enum class ColumnType { f32, i64 };

struct ColumnSpec {
  std::string name;                  // dataset path, may contain a group ("side/landmarks")
  std::vector<int64_t> row_shape;    // shape of one row; {} for a scalar per row
  ColumnType type = ColumnType::f32;
  int64_t row_elements() const;
  int64_t row_bytes() const;
};

struct RowFileOptions {
  int64_t chunk_target_bytes = 64 << 10;  // chunks hold max(1, target / row_bytes) rows, clamped to <= 1 MiB
  int compression = 0;                    // gzip level 0 (off) .. 9; shuffle is added when on
};

// Rows per chunk for a column under the options (documented in docs/formats.md).
int64_t row_chunk_rows(const ColumnSpec& column, const RowFileOptions& options);

class RowFileWriter {
 public:
  RowFileWriter(std::filesystem::path final_path, const std::string& schema, int schema_version,
                std::vector<ColumnSpec> columns, RowFileOptions options = {});
  ~RowFileWriter();
  RowFileWriter(const RowFileWriter&) = delete;
  RowFileWriter& operator=(const RowFileWriter&) = delete;

  // Appends `rows` rows (contiguous, C order) to one column.
  void append(const std::string& column, const void* data, int64_t rows);
  int64_t rows(const std::string& column) const;

  void write_array_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data);
  void write_array_i32(const std::string& name, const std::vector<int64_t>& shape, const int32_t* data);
  void write_array_i64(const std::string& name, const std::vector<int64_t>& shape, const int64_t* data);
  void write_strings(const std::string& name, const std::vector<std::string>& values);
  void set_attr_string(const std::string& name, const std::string& value);
  void set_attr_int64s(const std::string& name, const std::vector<int64_t>& values);

  // A column whose rows are the concatenation of `column.name` in each shard file (relative names are resolved
  // next to this file). Shards with zero rows are skipped.
  void write_virtual_column(const ColumnSpec& column, const std::vector<std::string>& shard_files,
                            const std::vector<int64_t>& shard_rows);

  // Checks that all row columns have the same length, writes attribute num_samples, closes and renames.
  void finalize();

  const std::filesystem::path& final_path() const { return final_path_; }

 private:
  struct Column {
    ColumnSpec spec;
    H5Id dataset;
    int64_t rows = 0;
  };
  Column& column(const std::string& name);
  void ensure_parent_groups(const std::string& path);
  std::filesystem::path final_path_, temp_path_;
  H5Id file_;
  std::vector<Column> columns_;
  RowFileOptions options_;
  int64_t virtual_rows_ = -1;
  bool finalized_ = false;
};

hid_t column_file_type(ColumnType t);
hid_t column_memory_type(ColumnType t);

}  // namespace s3e
