#include "store/npy_reader.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>

#include "core/errors.h"

namespace fs = std::filesystem;

namespace s3e {

namespace {

// A tiny parser for the Python dict literal of a .npy header:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 18, 512), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& file) : s_(text), file_(file) {}

  NpyHeader parse() {
    NpyHeader h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') fail("'descr' is not a simple dtype string (structured dtypes are not supported)");
        h.descr = quoted();
        has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++pos_;
    }
    if (!has_descr || !has_order || !has_shape) fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw DataError(fmt::format("{}: invalid .npy header: {} (header: {})", file_, why, s_));
  }
  char peek() { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(fmt::format("expected '{}' at offset {}", c, pos_));
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    char q = peek();
    if (q != '\'' && q != '"') fail(fmt::format("expected a quoted string at offset {}", pos_));
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string v = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return v;
  }
  bool boolean() {
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    fail("'fortran_order' is not True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return dims;
      }
      size_t start = pos_;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
      if (start == pos_) fail("'shape' is not a tuple of non-negative integers");
      if (pos_ - start > 15) fail("'shape' has an absurd dimension");
      dims.push_back(std::stoll(s_.substr(start, pos_ - start)));
      skip_space();
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      skip_space();
      if (peek() == ',') ++pos_;
    }
  }
  const std::string& s_;
  std::string file_;
  size_t pos_ = 0;
};

uint32_t read_le(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool host_is_little_endian() {
  uint16_t x = 1;
  return *reinterpret_cast<unsigned char*>(&x) == 1;
}

}  // namespace

NpyHeader npy_read_header(const fs::path& path) {
  const std::string file = path.string();
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw DataError(fmt::format("{}: cannot be opened ({})", file, std::strerror(errno)));
  unsigned char pre[12] = {0};
  size_t got = std::fread(pre, 1, sizeof(pre), f);
  auto close_fail = [&](const std::string& why) {
    std::fclose(f);
    throw DataError(fmt::format("{}: {}", file, why));
  };
  if (got < 10 || std::memcmp(pre, "\x93NUMPY", 6) != 0) close_fail("not a .npy file (bad magic)");
  NpyHeader h;
  h.major_version = pre[6];
  h.minor_version = pre[7];
  int len_bytes = h.major_version == 1 ? 2 : (h.major_version == 2 || h.major_version == 3) ? 4 : 0;
  if (!len_bytes) close_fail(fmt::format(".npy format version {}.{} is not supported (1.0, 2.0, 3.0 are)",
                                         h.major_version, h.minor_version));
  if (static_cast<int>(got) < 8 + len_bytes) close_fail("truncated .npy header");
  uint32_t header_len = read_le(pre + 8, len_bytes);
  if (header_len > (1u << 20)) close_fail(fmt::format("header length {} is absurd", header_len));
  std::string text(header_len, '\0');
  std::fseek(f, 8 + len_bytes, SEEK_SET);
  if (std::fread(text.data(), 1, header_len, f) != header_len) close_fail("truncated .npy header");
  std::fclose(f);
  NpyHeader parsed = HeaderParser(text, file).parse();
  parsed.major_version = h.major_version;
  parsed.minor_version = h.minor_version;
  parsed.data_offset = 8 + len_bytes + header_len;
  const std::string& d = parsed.descr;
  if (d.size() < 3) throw DataError(fmt::format("{}: dtype '{}' is not supported", file, d));
  parsed.byte_order = d[0] == '=' ? (host_is_little_endian() ? '<' : '>') : d[0];
  parsed.kind = d[1];
  parsed.item_size = std::atoi(d.c_str() + 2);
  bool ok = (parsed.kind == 'f' && (parsed.item_size == 4 || parsed.item_size == 8)) ||
            (parsed.kind == 'u' && parsed.item_size == 1) || (parsed.kind == 'i' && parsed.item_size == 8) ||
            (parsed.kind == 'b' && parsed.item_size == 1);
  if (!ok || (parsed.byte_order != '<' && parsed.byte_order != '>' && parsed.byte_order != '|'))
    throw DataError(fmt::format("{}: dtype '{}' is not supported (supported: f4, f8, u1, i8, b1 in either byte order; "
                                "object arrays are refused)", file, d));
  if (parsed.fortran_order)
    throw DataError(fmt::format("{}: array is in Fortran order; save it in C order (numpy.ascontiguousarray)", file));
  return parsed;
}

NpyReader::NpyReader(const fs::path& path) : path_(path), header_(npy_read_header(path)) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  __int128 expected = header_.data_offset;
  __int128 elems = 1;
  for (auto d : header_.shape) elems *= d;
  expected += elems * header_.item_size;
  if (ec || static_cast<__int128>(size) != expected)
    throw DataError(fmt::format("{}: data is {} bytes but the header's shape {} of '{}' needs {} (file {})",
                                path.string(), static_cast<int64_t>(size) - header_.data_offset,
                                [&] {
                                  std::string s = "(";
                                  for (auto d : header_.shape) s += std::to_string(d) + ",";
                                  return s + ")";
                                }(),
                                header_.descr, static_cast<int64_t>(expected - header_.data_offset),
                                static_cast<int64_t>(size) < expected ? "truncated" : "has trailing bytes"));
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw DataError(fmt::format("{}: cannot be opened ({})", path.string(), std::strerror(errno)));
}

NpyReader::~NpyReader() {
  if (file_) std::fclose(file_);
}

int64_t NpyReader::row_elements() const {
  int64_t n = 1;
  for (size_t i = 1; i < header_.shape.size(); ++i) n *= header_.shape[i];
  return n;
}

std::vector<int64_t> NpyReader::row_shape() const {
  return header_.shape.size() > 1 ? std::vector<int64_t>(header_.shape.begin() + 1, header_.shape.end())
                                  : std::vector<int64_t>{};
}

void NpyReader::read_rows_f32(int64_t begin, int64_t count, float* out) {
  if (count <= 0) return;
  if (begin < 0 || begin + count > rows())
    throw std::out_of_range(fmt::format("{}: rows [{}, {}) out of range", path_.string(), begin, begin + count));
  const int64_t n = count * row_elements();
  const int size = header_.item_size;
  buffer_.resize(n * size);
  if (std::fseek(file_, header_.data_offset + begin * row_elements() * size, SEEK_SET) != 0 ||
      std::fread(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
    throw DataError(fmt::format("{}: read of rows [{}, {}) failed", path_.string(), begin, begin + count));
  bool swap = size > 1 && ((header_.byte_order == '<') != host_is_little_endian());
  unsigned char* p = buffer_.data();
  for (int64_t i = 0; i < n; ++i, p += size) {
    unsigned char v[8];
    for (int b = 0; b < size; ++b) v[b] = swap ? p[size - 1 - b] : p[b];
    switch (header_.kind) {
      case 'f':
        if (size == 4) {
          float f;
          std::memcpy(&f, v, 4);
          out[i] = f;
        } else {
          double d;
          std::memcpy(&d, v, 8);
          out[i] = static_cast<float>(d);
        }
        break;
      case 'i': {
        int64_t x;
        std::memcpy(&x, v, 8);
        out[i] = static_cast<float>(x);
        break;
      }
      case 'u': out[i] = static_cast<float>(v[0]); break;
      case 'b': out[i] = v[0] ? 1.0f : 0.0f; break;
    }
  }
}

}  // namespace s3e
