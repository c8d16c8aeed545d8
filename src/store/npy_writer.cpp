#include "store/npy_writer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/errors.h"
#include "core/file_util.h"

namespace fs = std::filesystem;

namespace s3e {

NpyWriter::NpyWriter(fs::path path, std::vector<int64_t> shape) : path_(std::move(path)), shape_(std::move(shape)) {
  for (size_t i = 1; i < shape_.size(); ++i) row_elements_ *= shape_[i];
  temp_ = file_temp_path(path_);
  file_ = std::fopen(temp_.c_str(), "wb");
  if (!file_) throw UsageError(fmt::format("{}: cannot write here ({})", path_.string(), std::strerror(errno)));
  std::string dims;
  for (size_t i = 0; i < shape_.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape_[i]);
  if (shape_.size() == 1) dims += ",";  // Python's one-element tuple "(3,)"
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that magic + length + dict + '\n' is a multiple of 64 (numpy's alignment).
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  pre[8] = dict.size() & 0xff;
  pre[9] = (dict.size() >> 8) & 0xff;
  if (std::fwrite(pre, 1, 10, file_) != 10 || std::fwrite(dict.data(), 1, dict.size(), file_) != dict.size())
    throw TransientError(fmt::format("{}: write failed", path_.string()));
}

NpyWriter::~NpyWriter() {
  if (file_) {
    std::fclose(file_);
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void NpyWriter::append_rows(const float* data, int64_t rows) {
  // Little-endian float32 on disk; this code runs on little-endian hosts only (x86_64, aarch64).
  size_t n = rows * row_elements_;
  if (std::fwrite(data, sizeof(float), n, file_) != n)
    throw TransientError(fmt::format("{}: write failed ({})", path_.string(), std::strerror(errno)));
  rows_written_ += rows;
}

void NpyWriter::finalize() {
  if (!shape_.empty() && rows_written_ != shape_[0])
    throw std::logic_error(fmt::format("{}: wrote {} rows, declared {}", path_.string(), rows_written_, shape_[0]));
  if (std::fclose(file_) != 0) {
    file_ = nullptr;
    throw TransientError(fmt::format("{}: close failed", path_.string()));
  }
  file_ = nullptr;
  file_commit(temp_, path_);
}

}  // namespace s3e
