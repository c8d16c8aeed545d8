#include "store/virtual_index.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {

void virtual_index_write(const fs::path& index_path, const std::string& schema, int schema_version,
                         const std::vector<ColumnSpec>& columns, const std::vector<std::string>& source_files,
                         const std::vector<int64_t>& source_rows, const std::string& rows_attr,
                         const std::function<void(RowFileWriter&)>& add_root_content) {
  if (source_files.size() != source_rows.size())
    throw std::logic_error(fmt::format("{}: {} source files but {} row counts", index_path.string(),
                                       source_files.size(), source_rows.size()));
  // The order of the calls below fixes the file's bytes: keep it (store_shards' indexes are compared byte for byte).
  RowFileWriter index(index_path, schema, schema_version, {});
  for (auto& column : columns) index.write_virtual_column(column, source_files, source_rows);
  index.set_attr_int64s(rows_attr, source_rows);
  if (add_root_content) add_root_content(index);
  index.finalize();
}

int64_t virtual_index_check_source(const fs::path& file, const std::string& schema,
                                   const std::vector<ColumnSpec>& columns) {
  h5_quiet();
  const std::string name = file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw DataError(fmt::format("{}: no such file", name));
  if (H5Fis_hdf5(file.c_str()) <= 0) throw DataError(fmt::format("{}: not an HDF5 file (truncated, empty or another format)", name));
  H5Id f(h5_check(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), name, "open"));
  std::string found = h5_attr_exists(f, "schema") ? h5_attr_read_string(f, "schema", name) : "";
  if (found != schema) throw DataError(fmt::format("{}: schema is '{}', expected '{}'", name, found, schema));
  auto n = h5_attr_read_int64s(f, "num_samples", name);
  if (n.size() != 1 || n[0] < 0) throw DataError(fmt::format("{}: attribute num_samples is invalid", name));
  for (auto& column : columns) {
    if (!h5_link_exists(f, column.name)) throw DataError(fmt::format("{}: dataset '{}' is missing", name, column.name));
    H5Id ds(h5_check(H5Dopen2(f, column.name.c_str(), H5P_DEFAULT), name, "open dataset " + column.name));
    std::vector<int64_t> want = {n[0]};
    want.insert(want.end(), column.row_shape.begin(), column.row_shape.end());
    auto got = h5_dataset_shape(ds);
    if (got != want)
      throw DataError(fmt::format("{}: dataset '{}' has shape {}, expected {}", name, column.name, shape_text(got),
                                  shape_text(want)));
    H5Id type(H5Dget_type(ds));
    if (H5Tequal(type, column_file_type(column.type)) <= 0)
      throw DataError(fmt::format("{}: dataset '{}' has element type other than {}", name, column.name,
                                  column.type == ColumnType::f32 ? "float32" : "int64"));
  }
  return n[0];
}

std::string virtual_index_source_name(const fs::path& index_path, const fs::path& file) {
  fs::path dir = fs::absolute(index_path).lexically_normal().parent_path();
  fs::path rel = fs::absolute(file).lexically_normal().lexically_relative(dir);
  if (rel.empty()) throw std::logic_error(fmt::format("{} cannot be named relative to {}", file.string(), dir.string()));
  return rel.generic_string();
}

}  // namespace s3e
