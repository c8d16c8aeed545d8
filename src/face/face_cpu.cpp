#include "face/face_cpu.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace s3e {
namespace {

std::string cpuinfo_field(const char* key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  return {};
}

}  // namespace

std::string face_cpu_model() {
  auto model = cpuinfo_field("model name");
  return model.empty() ? "unknown" : model;
}

std::string face_cpu_features() {
  std::istringstream flags(cpuinfo_field("flags"));
  const std::set<std::string> wanted = {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                        "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16"};
  std::string out, f;
  while (flags >> f)
    if (wanted.count(f)) out += (out.empty() ? "" : " ") + f;
  return out.empty() ? "unknown" : out;
}

std::string face_malloc_keep() {
  static std::once_flag once;
  static std::string result;
  std::call_once(once, [] {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
        (tunables && std::strstr(tunables, "glibc.malloc."))) {
      result = "malloc: left as the environment sets it";
      return;
    }
#ifdef M_MMAP_THRESHOLD
    // 32 MiB is glibc's largest mmap threshold on 64-bit; the trim threshold keeps freed heap from being released.
    bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    result = ok ? "malloc: mmap threshold 32 MiB, trim threshold 1 GiB (activations reused, not page-faulted)"
                : "malloc: mallopt refused; activations may be page-faulted on every call";
#else
    result = "malloc: not glibc, left as it is";
#endif
  });
  return result;
}

}  // namespace s3e
