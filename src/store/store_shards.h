// store_shards.h — sharded stores: every rank writes its own shard file (one writer per file, no parallel HDF5),
// then rank 0 publishes an index file whose row datasets are HDF5 virtual datasets over the shards, so readers
// (LatentStore, h5py) see one dataset in rank order. Names: index "<dir>/<stem>.h5", shards
// "<dir>/<stem>.shard-00001-of-00004.h5" next to it (virtual datasets name them relative to the index).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "store/row_file_writer.h"

namespace s3e {

std::filesystem::path shard_path(const std::filesystem::path& index_path, int rank, int world_size);

// Collective over `comm`: call on every rank after this rank's shard was finalised with `my_rows` rows.
// Rank 0 writes the index (atomically, after all shards are complete), with `add_root_content` adding attributes
// and whole arrays, and removes shards of earlier runs with another rank count. Returns the total row count.
int64_t shards_publish_index(Communicator& comm, const std::filesystem::path& index_path, const std::string& schema, int schema_version,
                             const std::vector<ColumnSpec>& columns, int64_t my_rows,
                             const std::function<void(RowFileWriter&)>& add_root_content);

// Rows [begin, end) that `rank` of `world_size` owns when `total` rows are split into contiguous blocks.
std::pair<int64_t, int64_t> shard_row_range(int64_t total, int rank, int world_size);

}  // namespace s3e
