// column_reader.h — fast reads of one row column ([N, ...]) of a store file. A virtual column (the index over
// per-rank shards) is resolved once into its source datasets, so reads go straight to the shards instead of
// through HDF5's virtual-dataset layer. Where a source holds one row per chunk, unfiltered, in the requested type,
// each row is one direct chunk read (H5Dread_chunk: no chunk cache, no type conversion, no selection building);
// other layouts (several rows per chunk, compression) are read with one hyperslab selection per run of rows.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/h5_util.h"

namespace s3e {

class ColumnReader {
 public:
  ColumnReader(hid_t file, const std::filesystem::path& file_path, const std::string& column);
  ~ColumnReader();
  ColumnReader(const ColumnReader&) = delete;
  ColumnReader& operator=(const ColumnReader&) = delete;

  const std::vector<int64_t>& shape() const { return shape_; }
  // Rows in the order asked (duplicates allowed) into `out`; mem_type/elem_size give the element type.
  void read_rows(const std::vector<int64_t>& indices, hid_t mem_type, size_t elem_size, void* out) const;
  void read_range(int64_t begin, int64_t count, hid_t mem_type, size_t elem_size, void* out) const;
  bool is_virtual() const { return virtual_; }

 private:
  struct Segment {
    int64_t first = 0, rows = 0;  // rows [first, first + rows) of the column
    H5Id file;                    // source file when it is another file
    H5Id dataset;
    H5Id file_type;
    bool one_row_chunks = false;  // unfiltered chunks of exactly one row
  };
  const Segment& segment_of(int64_t row) const;
  void read_segment_rows(const Segment& s, const int64_t* local, size_t n, hid_t mem_type, size_t elem_size,
                         char* out) const;
  std::string path_, column_;
  std::vector<int64_t> shape_;
  int64_t row_elements_ = 1;
  bool virtual_ = false;
  std::vector<Segment> segments_;
};

}  // namespace s3e
