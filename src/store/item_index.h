// item_index.h — the index over an item stage's per-item row files: one HDF5 file whose row datasets are virtual
// datasets over the item files in item order (store/virtual_index.h), rebuilt at the end of a run from the
// ledger. Because it lists items in item order, not in the order or on the ranks that wrote them, the index is
// the same file whatever rank counts the run went through. LatentStore reads it like any store.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/item_ledger.h"
#include "store/row_file_writer.h"

namespace s3e {

struct ItemRowFile {
  std::string id;               // the item (stored in the index's "item_ids")
  std::filesystem::path file;   // its row file (store/row_file_writer.h), any number of rows including none
};

// What an index holds besides its virtual columns: the schema of the item files and the index, the columns to
// join, and the root content (attributes such as latent_shape, whole arrays) that `add_root_content` writes.
struct ItemIndexSpec {
  std::string schema;
  int schema_version = 1;
  std::vector<ColumnSpec> columns;
  std::function<void(RowFileWriter&)> add_root_content;  // may be empty
};

// Writes `index_path` atomically over `items` in the order given: checks every item file against the spec
// (schema, column shapes and types; DataError naming the file otherwise), then writes the virtual columns, the
// attribute "item_rows" (rows per item) and the string dataset "item_ids". Item files are named relative to the
// index's folder. Returns the total row count. Equal arguments give a byte-identical index.
int64_t item_index_write(const std::filesystem::path& index_path, const ItemIndexSpec& spec,
                         const std::vector<ItemRowFile>& items);

// The same from the ledger: `ids` in item order, each of which must be done (DataError naming the first that is
// not, with its status), with its row file the done record's output `row_output(id)` (e.g. "rows/<id>.h5";
// DataError if the record does not list it). Failed items are left out by the caller (they are in failed.csv).
int64_t item_index_write_from_ledger(const std::filesystem::path& index_path, const ItemIndexSpec& spec,
                                     const ItemLedger& ledger, const std::vector<std::string>& ids,
                                     const std::function<std::string(const std::string& id)>& row_output);

}  // namespace s3e
