// virtual_index.h — index files whose row datasets are HDF5 virtual datasets over the same columns of several
// source row files (store/row_file_writer.h), joined in the order given, so readers (LatentStore, h5py) see one
// dataset. Shared by sharded stores (one source per rank, store_shards.h) and item stages (one source per item,
// item_index.h). Source names are stored relative to the index's folder, so a run folder can be moved.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/row_file_writer.h"

namespace s3e {

// Writes `index_path` atomically (temporary name, renamed when complete): one virtual column per entry of
// `columns` over `source_files` (names relative to the index's folder) with `source_rows` rows each, in that
// order (sources with zero rows map nothing), then the int64 attribute `rows_attr` holding `source_rows`, then
// whatever `add_root_content` adds (attributes, whole arrays; may be empty). Equal arguments give equal bytes.
void virtual_index_write(const std::filesystem::path& index_path, const std::string& schema, int schema_version,
                         const std::vector<ColumnSpec>& columns, const std::vector<std::string>& source_files,
                         const std::vector<int64_t>& source_rows, const std::string& rows_attr,
                         const std::function<void(RowFileWriter&)>& add_root_content);

// Opens a source row file and checks that it can back the index's columns: schema name `schema`, and every column
// present with the declared row shape and element type (a virtual dataset over a mismatched source reads garbage
// or fails only when read). Returns its row count (attribute num_samples, equal to every column's length).
// Throws DataError naming the file and what is wrong.
int64_t virtual_index_check_source(const std::filesystem::path& file, const std::string& schema,
                                   const std::vector<ColumnSpec>& columns);

// `file`'s name relative to the folder of `index_path` (as virtual datasets store it), e.g. "items/a.h5".
std::string virtual_index_source_name(const std::filesystem::path& index_path, const std::filesystem::path& file);

}  // namespace s3e
