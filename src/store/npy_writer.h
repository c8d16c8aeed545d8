// npy_writer.h — writes a little-endian float32 C-order .npy file (format 1.0) row by row, under a temporary
// name renamed by finalize(); the shape is declared up front.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace s3e {

class NpyWriter {
 public:
  NpyWriter(std::filesystem::path path, std::vector<int64_t> shape);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;
  void append_rows(const float* data, int64_t rows);
  void finalize();  // checks that shape[0] rows were written, then renames

 private:
  std::filesystem::path path_, temp_;
  std::vector<int64_t> shape_;
  int64_t row_elements_ = 1, rows_written_ = 0;
  FILE* file_ = nullptr;
};

}  // namespace s3e
