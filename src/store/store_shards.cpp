#include "store/store_shards.h"

#include <fmt/format.h>

#include <regex>

#include "dist/communicator.h"
#include "store/virtual_index.h"

namespace fs = std::filesystem;

namespace s3e {

fs::path shard_path(const fs::path& index_path, int rank, int world_size) {
  return index_path.parent_path() /
         fmt::format("{}.shard-{:05d}-of-{:05d}.h5", index_path.stem().string(), rank, world_size);
}

std::pair<int64_t, int64_t> shard_row_range(int64_t total, int rank, int world_size) {
  int64_t base = total / world_size, extra = total % world_size;
  int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

int64_t shards_publish_index(Communicator& comm, const fs::path& index_path, const std::string& schema,
                             int schema_version, const std::vector<ColumnSpec>& columns, int64_t my_rows,
                             const std::function<void(RowFileWriter&)>& add_root_content) {
  // Allgather doubles as the barrier: no rank gets here before its shard is renamed into place, so when rank 0
  // publishes the index every file it points to is complete.
  std::vector<int64_t> rows(comm.size());
  comm.allgather(&my_rows, rows.data(), 1, DType::i64);
  int64_t total = 0;
  for (auto r : rows) total += r;
  if (comm.rank() == 0) {
    std::vector<std::string> names;
    for (int r = 0; r < comm.size(); ++r) names.push_back(shard_path(index_path, r, comm.size()).filename());
    virtual_index_write(index_path, schema, schema_version, columns, names, rows, "shard_rows", add_root_content);
    // Shards of an earlier run with another rank count are no longer referenced.
    std::regex pattern(std::regex_replace(index_path.stem().string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                       R"(\.shard-\d{5}-of-(\d{5})\.h5)");
    for (auto& entry : fs::directory_iterator(index_path.parent_path().empty() ? "." : index_path.parent_path())) {
      std::smatch m;
      std::string name = entry.path().filename().string();
      if (std::regex_match(name, m, pattern) && std::stoi(m[1]) != comm.size()) fs::remove(entry.path());
    }
  }
  // Nobody reads the index before it exists.
  comm.barrier();
  return total;
}

}  // namespace s3e
