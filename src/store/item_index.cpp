#include "store/item_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/errors.h"
#include "store/virtual_index.h"

namespace fs = std::filesystem;

namespace s3e {

int64_t item_index_write(const fs::path& index_path, const ItemIndexSpec& spec, const std::vector<ItemRowFile>& items) {
  std::vector<std::string> names, ids;
  std::vector<int64_t> rows;
  std::set<std::string> seen;
  int64_t total = 0;
  for (auto& item : items) {
    item_id_check(item.id);
    if (!seen.insert(item.id).second)
      throw std::logic_error(fmt::format("{}: item {} listed twice", index_path.string(), item.id));
    // Checked here, not when read: a virtual dataset over a mismatched file fails only when that row is read.
    rows.push_back(virtual_index_check_source(item.file, spec.schema, spec.columns));
    names.push_back(virtual_index_source_name(index_path, item.file));
    ids.push_back(item.id);
    total += rows.back();
  }
  virtual_index_write(index_path, spec.schema, spec.schema_version, spec.columns, names, rows, "item_rows",
                      [&](RowFileWriter& index) {
                        index.write_strings("item_ids", ids);
                        if (spec.add_root_content) spec.add_root_content(index);
                      });
  return total;
}

int64_t item_index_write_from_ledger(const fs::path& index_path, const ItemIndexSpec& spec, const ItemLedger& ledger,
                                     const std::vector<std::string>& ids,
                                     const std::function<std::string(const std::string& id)>& row_output) {
  std::vector<ItemRowFile> items;
  for (auto& id : ids) {
    auto record = ledger.done_record(id);
    if (!record)
      throw DataError(fmt::format("{}: item {} is {}, not done ({}); the index lists only done items",
                                  index_path.string(), id, item_status_name(ledger.status(id)),
                                  ledger.done_path(id).string()));
    std::string name = row_output(id);
    bool listed = std::any_of(record->outputs.begin(), record->outputs.end(), [&](auto& o) { return o.name == name; });
    if (!listed)
      throw DataError(fmt::format("{}: done record {} does not list output '{}'", index_path.string(),
                                  ledger.done_path(id).string(), name));
    items.push_back({id, ledger.run_dir() / name});
  }
  return item_index_write(index_path, spec, items);
}

}  // namespace s3e
