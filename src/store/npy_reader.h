// npy_reader.h — a strict, streaming reader of NumPy .npy files (format versions 1.0, 2.0, 3.0). Supports C-order
// arrays of f4, f8, u1, i8 and b1 in either byte order, converted to float32 row by row, so a large file is never
// held in memory. Rejects Fortran order, object/structured/other dtypes, bad magic, and data shorter or longer
// than the header's shape, with a DataError naming the file and the problem.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace s3e {

struct NpyHeader {
  int major_version = 0, minor_version = 0;
  std::string descr;       // e.g. "<f4"
  char byte_order = '<';   // '<' little, '>' big, '|' not applicable
  char kind = 'f';         // 'f' float, 'u' unsigned, 'i' signed, 'b' bool
  int item_size = 4;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
};

// Parses the header of `path` (throws DataError).
NpyHeader npy_read_header(const std::filesystem::path& path);

class NpyReader {
 public:
  explicit NpyReader(const std::filesystem::path& path);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;

  const NpyHeader& header() const { return header_; }
  int64_t rows() const { return header_.shape.empty() ? 1 : header_.shape[0]; }
  int64_t row_elements() const;
  std::vector<int64_t> row_shape() const;

  // Reads rows [begin, begin+count) converted to float32 into `out` (count * row_elements floats).
  void read_rows_f32(int64_t begin, int64_t count, float* out);

 private:
  std::filesystem::path path_;
  NpyHeader header_;
  FILE* file_ = nullptr;
  std::vector<unsigned char> buffer_;
};

}  // namespace s3e
