#include "store/column_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace fs = std::filesystem;

namespace s3e {

namespace {
// Dataset access without a chunk cache: whole-chunk reads then go straight from the file into the caller's buffer.
H5Id no_cache_access() {
  H5Id dapl(H5Pcreate(H5P_DATASET_ACCESS));
  H5Pset_chunk_cache(dapl, 0, 0, 1.0);
  return dapl;
}

bool has_one_row_chunks(hid_t dataset, const std::vector<int64_t>& shape) {
  H5Id dcpl(H5Dget_create_plist(dataset));
  if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_nfilters(dcpl) != 0) return false;
  std::vector<hsize_t> chunk(shape.size());
  if (H5Pget_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()) != static_cast<int>(chunk.size())) return false;
  if (chunk[0] != 1) return false;
  for (size_t i = 1; i < shape.size(); ++i)
    if (static_cast<int64_t>(chunk[i]) != shape[i]) return false;
  return true;
}
}  // namespace

ColumnReader::ColumnReader(hid_t file, const fs::path& file_path, const std::string& column)
    : path_(file_path.string()), column_(column) {
  H5Id ds(h5_check(H5Dopen2(file, column.c_str(), H5P_DEFAULT), path_, "open dataset " + column));
  shape_ = h5_dataset_shape(ds);
  for (size_t i = 1; i < shape_.size(); ++i) row_elements_ *= shape_[i];
  H5Id dcpl(H5Dget_create_plist(ds));
  virtual_ = H5Pget_layout(dcpl) == H5D_VIRTUAL;
  if (!virtual_) {
    Segment s;
    s.first = 0;
    s.rows = shape_.empty() ? 0 : shape_[0];
    s.one_row_chunks = has_one_row_chunks(ds, shape_);
    s.file_type = H5Id(H5Dget_type(ds));
    s.dataset = s.one_row_chunks ? H5Id(H5Dopen2(file, column.c_str(), no_cache_access())) : std::move(ds);
    segments_.push_back(std::move(s));
    return;
  }
  // Resolve the virtual mapping: each entry maps a block of rows to a whole dataset of a source file.
  size_t count = 0;
  H5Pget_virtual_count(dcpl, &count);
  for (size_t i = 0; i < count; ++i) {
    H5Id vspace(H5Pget_virtual_vspace(dcpl, i));
    std::vector<hsize_t> start(shape_.size()), end(shape_.size());
    H5Sget_select_bounds(vspace, start.data(), end.data());
    ssize_t name_len = H5Pget_virtual_filename(dcpl, i, nullptr, 0);
    std::string name(name_len, '\0');
    H5Pget_virtual_filename(dcpl, i, name.data(), name_len + 1);
    ssize_t ds_len = H5Pget_virtual_dsetname(dcpl, i, nullptr, 0);
    std::string ds_name(ds_len, '\0');
    H5Pget_virtual_dsetname(dcpl, i, ds_name.data(), ds_len + 1);
    Segment s;
    s.first = static_cast<int64_t>(start[0]);
    s.rows = static_cast<int64_t>(end[0] - start[0] + 1);
    hid_t source_file = file;
    if (name != ".") {
      fs::path source = fs::path(name).is_absolute() ? fs::path(name) : file_path.parent_path() / name;
      s.file = H5Id(H5Fopen(source.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
      if (!s.file.valid())
        throw DataError(fmt::format("{}: shard {} of '{}' cannot be opened: {}", path_, source.string(), column,
                                    h5_error_text()));
      source_file = s.file;
    }
    s.dataset = H5Id(h5_check(H5Dopen2(source_file, ds_name.c_str(), H5P_DEFAULT), path_,
                              fmt::format("open {} in shard {}", ds_name, name)));
    auto source_shape = h5_dataset_shape(s.dataset);
    if (source_shape.empty() || source_shape[0] != s.rows)
      throw DataError(fmt::format("{}: shard {} holds {} rows of '{}', the index maps {}", path_, name,
                                  source_shape.empty() ? 0 : source_shape[0], column, s.rows));
    s.one_row_chunks = has_one_row_chunks(s.dataset, source_shape);
    s.file_type = H5Id(H5Dget_type(s.dataset));
    if (s.one_row_chunks) s.dataset = H5Id(H5Dopen2(source_file, ds_name.c_str(), no_cache_access()));

    segments_.push_back(std::move(s));
  }
  std::sort(segments_.begin(), segments_.end(), [](const Segment& a, const Segment& b) { return a.first < b.first; });
}

ColumnReader::~ColumnReader() = default;

const ColumnReader::Segment& ColumnReader::segment_of(int64_t row) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), row,
                             [](int64_t r, const Segment& s) { return r < s.first; });
  if (it == segments_.begin() || row >= std::prev(it)->first + std::prev(it)->rows)
    throw DataError(fmt::format("{}: row {} of '{}' is in no shard", path_, row, column_));
  return *std::prev(it);
}

void ColumnReader::read_segment_rows(const Segment& s, const int64_t* local, size_t n, hid_t mem_type,
                                     size_t elem_size, char* out) const {
  const size_t row_bytes = row_elements_ * elem_size;
  if (row_elements_ == 0) return;
  if (s.one_row_chunks && H5Tequal(s.file_type, mem_type) > 0) {
    // One chunk per row, stored as the caller wants it: each row is one direct chunk read into place (measured
    // faster than H5Dread of a run of rows, with or without chunk cache; docs/benchmarks.md).
    std::vector<hsize_t> offset(shape_.size(), 0);
    for (size_t i = 0; i < n; ++i) {
      offset[0] = static_cast<hsize_t>(local[i]);
      uint32_t filters = 0;
      if (H5Dread_chunk(s.dataset, H5P_DEFAULT, offset.data(), &filters, out + i * row_bytes) < 0)
        throw DataError(fmt::format("{}: reading row {} of '{}' failed: {}", path_, s.first + local[i], column_,
                                    h5_error_text()));
    }
    return;
  }
  // General path: runs of consecutive rows become hyperslabs of one selection (rows arrive sorted and unique).
  const int rank = static_cast<int>(shape_.size());
  std::vector<hsize_t> start(rank, 0), count(rank);
  for (int i = 1; i < rank; ++i) count[i] = shape_[i];
  H5Id file_space(H5Dget_space(s.dataset));
  H5Sselect_none(file_space);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && local[j] == local[j - 1] + 1) ++j;
    start[0] = local[i];
    count[0] = j - i;
    H5Sselect_hyperslab(file_space, H5S_SELECT_OR, start.data(), nullptr, count.data(), nullptr);
    i = j;
  }
  hsize_t mem_elems = n * row_elements_;
  H5Id mem_space(H5Screate_simple(1, &mem_elems, nullptr));
  if (H5Dread(s.dataset, mem_type, mem_space, file_space, H5P_DEFAULT, out) < 0)
    throw DataError(fmt::format("{}: reading {} rows of '{}' failed: {}", path_, n, column_, h5_error_text()));
}

void ColumnReader::read_rows(const std::vector<int64_t>& indices, hid_t mem_type, size_t elem_size, void* out) const {
  if (indices.empty()) return;
  const int64_t rows = shape_.empty() ? 0 : shape_[0];
  for (auto i : indices)
    if (i < 0 || i >= rows)
      throw std::out_of_range(fmt::format("{}: row {} of '{}' is out of range [0, {})", path_, i, column_, rows));
  // Sorted unique rows, read segment by segment into staging, then scattered into the order asked.
  std::vector<int64_t> sorted(indices);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const size_t row_bytes = row_elements_ * elem_size;
  const bool direct = sorted.size() == indices.size() && std::equal(sorted.begin(), sorted.end(), indices.begin());
  std::vector<char> staging(direct ? 0 : sorted.size() * row_bytes);
  char* dst = direct ? static_cast<char*>(out) : staging.data();
  std::vector<int64_t> local;
  for (size_t i = 0; i < sorted.size();) {
    const Segment& s = segment_of(sorted[i]);
    size_t j = i;
    local.clear();
    while (j < sorted.size() && sorted[j] < s.first + s.rows) local.push_back(sorted[j++] - s.first);
    read_segment_rows(s, local.data(), local.size(), mem_type, elem_size, dst + i * row_bytes);
    i = j;
  }
  if (direct) return;
  char* result = static_cast<char*>(out);
  for (size_t k = 0; k < indices.size(); ++k) {
    size_t pos = std::lower_bound(sorted.begin(), sorted.end(), indices[k]) - sorted.begin();
    std::memcpy(result + k * row_bytes, staging.data() + pos * row_bytes, row_bytes);
  }
}

void ColumnReader::read_range(int64_t begin, int64_t count, hid_t mem_type, size_t elem_size, void* out) const {
  if (count <= 0) return;
  const int64_t rows = shape_.empty() ? 0 : shape_[0];
  if (begin < 0 || begin + count > rows)
    throw std::out_of_range(fmt::format("{}: rows [{}, {}) of '{}' are out of range [0, {})", path_, begin,
                                        begin + count, column_, rows));
  std::vector<int64_t> local;
  char* dst = static_cast<char*>(out);
  const size_t row_bytes = row_elements_ * elem_size;
  for (int64_t row = begin; row < begin + count;) {
    const Segment& s = segment_of(row);
    int64_t end = std::min(begin + count, s.first + s.rows);
    local.resize(end - row);
    for (int64_t r = row; r < end; ++r) local[r - row] = r - s.first;
    read_segment_rows(s, local.data(), local.size(), mem_type, elem_size, dst + (row - begin) * row_bytes);
    row = end;
  }
}

}  // namespace s3e
