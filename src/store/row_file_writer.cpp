#include "store/row_file_writer.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.h"
#include "core/file_util.h"

namespace fs = std::filesystem;

namespace s3e {

int64_t ColumnSpec::row_elements() const {
  int64_t n = 1;
  for (auto d : row_shape) n *= d;
  return n;
}

int64_t ColumnSpec::row_bytes() const { return row_elements() * (type == ColumnType::f32 ? 4 : 8); }

hid_t column_file_type(ColumnType t) { return t == ColumnType::f32 ? H5T_IEEE_F32LE : H5T_STD_I64LE; }
hid_t column_memory_type(ColumnType t) { return t == ColumnType::f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64; }

int64_t row_chunk_rows(const ColumnSpec& column, const RowFileOptions& options) {
  const int64_t max_chunk = 1 << 20;
  int64_t row = std::max<int64_t>(1, column.row_bytes());
  int64_t rows = std::max<int64_t>(1, options.chunk_target_bytes / row);
  while (rows > 1 && rows * row > max_chunk) --rows;
  return rows;
}

RowFileWriter::RowFileWriter(fs::path final_path, const std::string& schema, int schema_version,
                             std::vector<ColumnSpec> columns, RowFileOptions options)
    : final_path_(std::move(final_path)), options_(options) {
  h5_quiet();
  fs::path dir = final_path_.parent_path().empty() ? fs::path(".") : final_path_.parent_path();
  file_ensure_writable_dir(dir);
  temp_path_ = file_temp_path(final_path_);
  H5Id fcpl = h5_file_create_plist();
  file_ = H5Id(H5Fcreate(temp_path_.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT));
  if (!file_.valid())
    throw UsageError(fmt::format("{}: cannot create output file: {}", final_path_.string(), h5_error_text()));
  set_attr_string("schema", schema);
  set_attr_int64s("schema_version", {schema_version});
  for (auto& spec : columns) {
    ensure_parent_groups(spec.name);
    int rank = 1 + static_cast<int>(spec.row_shape.size());
    std::vector<hsize_t> dims(rank), max_dims(rank), chunk(rank);
    dims[0] = 0;
    max_dims[0] = H5S_UNLIMITED;
    chunk[0] = row_chunk_rows(spec, options_);
    for (int i = 1; i < rank; ++i) {
      // A zero-sized dimension (e.g. labels of an unlabelled store) needs an unlimited extent to take a chunk of 1.
      dims[i] = spec.row_shape[i - 1];
      max_dims[i] = dims[i] == 0 ? H5S_UNLIMITED : dims[i];
      chunk[i] = std::max<hsize_t>(1, dims[i]);
    }
    H5Id space(H5Screate_simple(rank, dims.data(), max_dims.data()));
    H5Id dcpl = h5_dataset_create_plist();
    H5Pset_chunk(dcpl, rank, chunk.data());
    if (options_.compression > 0) {
      H5Pset_shuffle(dcpl);
      H5Pset_deflate(dcpl, options_.compression);
    }
    H5Id ds(H5Dcreate2(file_, spec.name.c_str(), column_file_type(spec.type), space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (!ds.valid())
      throw TransientError(fmt::format("{}: cannot create dataset {}: {}", final_path_.string(), spec.name, h5_error_text()));
    columns_.push_back({spec, std::move(ds), 0});
  }
}

RowFileWriter::~RowFileWriter() {
  if (!finalized_) {
    for (auto& c : columns_) c.dataset.reset();
    file_.reset();
    std::error_code ec;
    fs::remove(temp_path_, ec);
  }
}

void RowFileWriter::ensure_parent_groups(const std::string& path) {
  size_t pos = 0;
  while ((pos = path.find('/', pos)) != std::string::npos) {
    std::string group = path.substr(0, pos++);
    if (group.empty() || h5_link_exists(file_, group)) continue;
    H5Id gcpl(H5Pcreate(H5P_GROUP_CREATE));
    H5Pset_obj_track_times(gcpl, 0);
    H5Id g(H5Gcreate2(file_, group.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT));
    if (!g.valid()) throw TransientError(fmt::format("{}: cannot create group {}", final_path_.string(), group));
  }
}

RowFileWriter::Column& RowFileWriter::column(const std::string& name) {
  for (auto& c : columns_)
    if (c.spec.name == name) return c;
  throw std::logic_error("RowFileWriter: no column " + name);
}

int64_t RowFileWriter::rows(const std::string& name) const {
  for (auto& c : columns_)
    if (c.spec.name == name) return c.rows;
  throw std::logic_error("RowFileWriter: no column " + name);
}

void RowFileWriter::append(const std::string& name, const void* data, int64_t rows) {
  if (rows <= 0) return;
  Column& c = column(name);
  int rank = 1 + static_cast<int>(c.spec.row_shape.size());
  std::vector<hsize_t> new_dims(rank), start(rank, 0), count(rank);
  new_dims[0] = c.rows + rows;
  start[0] = c.rows;
  count[0] = rows;
  for (int i = 1; i < rank; ++i) new_dims[i] = count[i] = c.spec.row_shape[i - 1];
  auto fail = [&](const char* what) {
    return TransientError(fmt::format("{}: {} {} failed: {}", final_path_.string(), what, name, h5_error_text()));
  };
  if (H5Dset_extent(c.dataset, new_dims.data()) < 0) throw fail("extending");
  if (c.spec.row_elements() == 0) {
    c.rows += rows;
    return;
  }
  H5Id file_space(H5Dget_space(c.dataset));
  H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  H5Id mem_space(H5Screate_simple(rank, count.data(), nullptr));
  if (H5Dwrite(c.dataset, column_memory_type(c.spec.type), mem_space, file_space, H5P_DEFAULT, data) < 0)
    throw fail("writing");
  c.rows += rows;
}

namespace {
void write_array(hid_t file, const std::string& path, const std::string& name, hid_t file_type, hid_t mem_type,
                 const std::vector<int64_t>& shape, const void* data) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  H5Id space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  H5Id dcpl = h5_dataset_create_plist();
  H5Id ds(H5Dcreate2(file, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!ds.valid() || H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw TransientError(fmt::format("{}: cannot write {}: {}", path, name, h5_error_text()));
}
}  // namespace

void RowFileWriter::write_array_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
  ensure_parent_groups(name);
  write_array(file_, final_path_.string(), name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, shape, data);
}

void RowFileWriter::write_array_i32(const std::string& name, const std::vector<int64_t>& shape, const int32_t* data) {
  ensure_parent_groups(name);
  write_array(file_, final_path_.string(), name, H5T_STD_I32LE, H5T_NATIVE_INT32, shape, data);
}

void RowFileWriter::write_array_i64(const std::string& name, const std::vector<int64_t>& shape, const int64_t* data) {
  ensure_parent_groups(name);
  write_array(file_, final_path_.string(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, shape, data);
}

void RowFileWriter::write_strings(const std::string& name, const std::vector<std::string>& values) {
  ensure_parent_groups(name);
  h5_write_strings(file_, name, values);
}

void RowFileWriter::set_attr_string(const std::string& name, const std::string& value) {
  h5_attr_write_string(file_, name, value);
}

void RowFileWriter::set_attr_int64s(const std::string& name, const std::vector<int64_t>& values) {
  h5_attr_write_int64s(file_, name, values);
}

void RowFileWriter::write_virtual_column(const ColumnSpec& spec, const std::vector<std::string>& shard_files,
                                         const std::vector<int64_t>& shard_rows) {
  ensure_parent_groups(spec.name);
  int64_t total = 0;
  for (auto r : shard_rows) total += r;
  if (virtual_rows_ >= 0 && virtual_rows_ != total) throw std::logic_error("virtual columns of unequal length");
  virtual_rows_ = total;
  int rank = 1 + static_cast<int>(spec.row_shape.size());
  std::vector<hsize_t> dims(rank);
  dims[0] = total;
  for (int i = 1; i < rank; ++i) dims[i] = spec.row_shape[i - 1];
  H5Id vspace(H5Screate_simple(rank, dims.data(), nullptr));
  H5Id dcpl = h5_dataset_create_plist();
  int64_t offset = 0;
  for (size_t s = 0; s < shard_files.size(); ++s) {
    if (shard_rows[s] == 0 || spec.row_elements() == 0) continue;
    std::vector<hsize_t> start(rank, 0), count(dims);
    start[0] = offset;
    count[0] = shard_rows[s];
    H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    H5Id src_space(H5Screate_simple(rank, count.data(), nullptr));
    if (H5Pset_virtual(dcpl, vspace, shard_files[s].c_str(), spec.name.c_str(), src_space) < 0)
      throw TransientError(fmt::format("{}: cannot map {} of {}", final_path_.string(), spec.name, shard_files[s]));
    offset += shard_rows[s];
  }
  H5Sselect_all(vspace);
  H5Id ds(H5Dcreate2(file_, spec.name.c_str(), column_file_type(spec.type), vspace, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!ds.valid())
    throw TransientError(fmt::format("{}: cannot create virtual dataset {}: {}", final_path_.string(), spec.name,
                                     h5_error_text()));
}

void RowFileWriter::finalize() {
  int64_t n = virtual_rows_;
  for (auto& c : columns_) {
    if (n >= 0 && c.rows != n)
      throw std::logic_error(fmt::format("{}: column {} has {} rows, expected {}", final_path_.string(), c.spec.name,
                                         c.rows, n));
    n = c.rows;
  }
  set_attr_int64s("num_samples", {std::max<int64_t>(n, 0)});
  for (auto& c : columns_) c.dataset.reset();
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0)
    throw TransientError(fmt::format("{}: flush failed: {}", final_path_.string(), h5_error_text()));
  file_.reset();
  file_commit(temp_path_, final_path_);
  finalized_ = true;
}

}  // namespace s3e
