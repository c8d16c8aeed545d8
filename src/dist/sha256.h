// sha256.h — SHA-256 of files and byte strings, for checkpoint manifests (sha256sum prints the same digests).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace s3e {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex_digest();  // finishes the hash

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& bytes);
// Throws DataError naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace s3e
