#include "store/latent_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <numeric>

#include "core/errors.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {

LatentStore::LatentStore(const fs::path& path, const std::string& schema) : path_(path) {
  h5_quiet();
  const std::string file = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(fmt::format("{}: no such file", file));
  if (fs::is_directory(path, ec)) throw DataError(fmt::format("{}: is a folder, not an HDF5 file", file));
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw DataError(fmt::format("{}: not an HDF5 file (truncated, empty or another format)", file));
  // Virtual datasets name their shards relative to this file: look for them next to it, wherever we run from.
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  file_ = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl));
  if (!file_.valid()) throw DataError(fmt::format("{}: cannot open as HDF5: {}", file, h5_error_text()));
  if (!h5_attr_exists(file_, "schema"))
    throw DataError(fmt::format("{}: not an s3editor file (no 'schema' attribute; expected '{}')", file, schema));
  std::string found = h5_attr_read_string(file_, "schema", file);
  if (found != schema) throw DataError(fmt::format("{}: schema is '{}', expected '{}'", file, found, schema));
  auto version = h5_attr_read_int64s(file_, "schema_version", file);
  int expected_version = schema == k_truth_schema ? k_truth_schema_version : k_store_schema_version;
  if (version.size() != 1 || version[0] < 1 || version[0] > expected_version)
    throw DataError(fmt::format("{}: schema_version {} is not supported (this build reads versions 1..{})", file,
                                version.empty() ? -1 : version[0], expected_version));
  schema_version_ = static_cast<int>(version[0]);
  auto n = h5_attr_read_int64s(file_, "num_samples", file);
  if (n.size() != 1 || n[0] < 0) throw DataError(fmt::format("{}: attribute num_samples is invalid", file));
  num_samples_ = n[0];
  latent_shape_ = h5_attr_read_int64s(file_, "latent_shape", file);
  if (latent_shape_.empty() || std::any_of(latent_shape_.begin(), latent_shape_.end(), [](int64_t d) { return d <= 0; }))
    throw DataError(fmt::format("{}: attribute latent_shape is invalid", file));
  if (h5_link_exists(file_, k_ds_attribute_names)) attribute_names_ = read_strings(k_ds_attribute_names);

  // Every row column must have num_samples rows; latents and labels must match the declared shapes.
  auto expect_shape = [&](const std::string& column, std::vector<int64_t> want) {
    if (!has_column(column)) throw DataError(fmt::format("{}: dataset '{}' is missing", file, column));
    auto got = column_shape(column);
    if (got != want)
      throw DataError(fmt::format("{}: dataset '{}' has shape {}, expected {}", file, column, shape_text(got),
                                  shape_text(want)));
  };
  if (schema == k_store_schema) {
    std::vector<int64_t> latents = {num_samples_};
    latents.insert(latents.end(), latent_shape_.begin(), latent_shape_.end());
    expect_shape(k_col_latents, latents);
    expect_shape(k_col_labels, {num_samples_, num_attributes()});
    expect_shape(k_col_video_index, {num_samples_});
    expect_shape(k_col_frame_index, {num_samples_});
  }
}

int64_t LatentStore::latent_dim() const {
  return std::accumulate(latent_shape_.begin(), latent_shape_.end(), int64_t{1}, std::multiplies<int64_t>());
}

std::string LatentStore::attribute_text(const std::string& name) const {
  return h5_attr_exists(file_, name) ? h5_attr_read_string(file_, name, path_.string()) : "";
}

bool LatentStore::has_column(const std::string& name) const { return h5_link_exists(file_, name); }

hid_t LatentStore::dataset(const std::string& name) const {
  for (auto& [n, id] : open_datasets_)
    if (n == name) return id;
  if (!has_column(name)) throw DataError(fmt::format("{}: dataset '{}' is missing", path_.string(), name));
  H5Id id(h5_check(H5Dopen2(file_, name.c_str(), H5P_DEFAULT), path_.string(), "open dataset " + name));
  open_datasets_.emplace_back(name, std::move(id));
  return open_datasets_.back().second;
}

std::vector<int64_t> LatentStore::column_shape(const std::string& name) const { return h5_dataset_shape(dataset(name)); }

bool LatentStore::is_virtual(const std::string& name) const {
  H5Id dcpl(H5Dget_create_plist(dataset(name)));
  return H5Pget_layout(dcpl) == H5D_VIRTUAL;
}

const ColumnReader& LatentStore::reader(const std::string& column) const {
  for (auto& [name, r] : readers_)
    if (name == column) return *r;
  if (!has_column(column)) throw DataError(fmt::format("{}: dataset '{}' is missing", path_.string(), column));
  readers_.emplace_back(column, std::make_unique<ColumnReader>(file_, path_, column));
  return *readers_.back().second;
}

void LatentStore::read_rows_f32(const std::string& c, const std::vector<int64_t>& idx, float* out) const {
  reader(c).read_rows(idx, H5T_NATIVE_FLOAT, sizeof(float), out);
}
void LatentStore::read_rows_i64(const std::string& c, const std::vector<int64_t>& idx, int64_t* out) const {
  reader(c).read_rows(idx, H5T_NATIVE_INT64, sizeof(int64_t), out);
}
void LatentStore::read_range_f32(const std::string& c, int64_t b, int64_t n, float* out) const {
  reader(c).read_range(b, n, H5T_NATIVE_FLOAT, sizeof(float), out);
}
void LatentStore::read_range_i64(const std::string& c, int64_t b, int64_t n, int64_t* out) const {
  reader(c).read_range(b, n, H5T_NATIVE_INT64, sizeof(int64_t), out);
}

namespace {
template <typename T>
std::vector<T> read_whole(hid_t ds, hid_t mem_type, const fs::path& path, const std::string& name) {
  auto shape = h5_dataset_shape(ds);
  int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  std::vector<T> out(n);
  if (n && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw DataError(fmt::format("{}: reading '{}' failed: {}", path.string(), name, h5_error_text()));
  return out;
}
}  // namespace

std::vector<float> LatentStore::read_array_f32(const std::string& name) const {
  return read_whole<float>(dataset(name), H5T_NATIVE_FLOAT, path_, name);
}

std::vector<int32_t> LatentStore::read_array_i32(const std::string& name) const {
  return read_whole<int32_t>(dataset(name), H5T_NATIVE_INT32, path_, name);
}

std::vector<int64_t> LatentStore::read_array_i64(const std::string& name) const {
  return read_whole<int64_t>(dataset(name), H5T_NATIVE_INT64, path_, name);
}

std::vector<std::string> LatentStore::read_strings(const std::string& name) const {
  return h5_read_strings(file_, name, path_.string());
}

NonfiniteReport LatentStore::scan_nonfinite(const std::string& column) const {
  NonfiniteReport report;
  auto shape = column_shape(column);
  int64_t row_elems = 1;
  for (size_t i = 1; i < shape.size(); ++i) row_elems *= shape[i];
  const int64_t block = std::max<int64_t>(1, (8 << 20) / std::max<int64_t>(1, row_elems * 4));  // ~8 MiB at a time
  std::vector<float> buf;
  for (int64_t begin = 0; begin < shape[0]; begin += block) {
    int64_t n = std::min(block, shape[0] - begin);
    buf.resize(n * row_elems);
    read_range_f32(column, begin, n, buf.data());
    for (int64_t r = 0; r < n; ++r) {
      bool bad = false;
      for (int64_t k = 0; k < row_elems; ++k) {
        float v = buf[r * row_elems + k];
        if (std::isnan(v)) ++report.nan_values, bad = true;
        else if (std::isinf(v)) ++report.inf_values, bad = true;
      }
      if (bad) {
        ++report.rows_affected;
        if (report.first_bad_row < 0) report.first_bad_row = begin + r;
      }
    }
  }
  return report;
}

}  // namespace s3e
