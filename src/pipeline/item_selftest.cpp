#include "pipeline/item_selftest.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/file_util.h"
#include "pipeline/item_run.h"
#include "store/item_index.h"
#include "store/row_file_writer.h"
#include "store/store_schema.h"

namespace s3e {
namespace {

constexpr int64_t k_dim = 4;

int64_t rows_of(int64_t item) { return 1 + (7 * item) % 13; }

// A value that depends only on (item, row, k): the outputs of a run do not depend on which rank wrote them.
float value_of(int64_t item, int64_t row, int64_t k) {
  uint64_t h = uint64_t(item) * 0x9E3779B97F4A7C15ull ^ uint64_t(row) * 0xBF58476D1CE4E5B9ull ^ uint64_t(k + 1);
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  return float(h % 100000) / 1000.0f;
}

}  // namespace

void pipeline_item_selftest_add_config(ConfigSchema& schema) {
  item_run_add_config(schema);  // --shard, --merge-tasks
  schema.add_int("selftest.items", 24, "number of synthetic items", 1, 100000)
      .add_real("selftest.ms_per_row", 20, "sleep per row, ms (so that a kill lands mid-run)", 0, 10000)
      .add_text("selftest.fail_ids", "", "comma-separated item ids that fail with a DataError");
}

int pipeline_item_selftest_run(Communicator& comm, const ItemSelftestOptions& options) {
  const StageRun& stage = options.run;
  const int64_t n = stage.config.get_int("selftest.items");
  const double ms_per_row = stage.config.get_real("selftest.ms_per_row");
  const std::vector<std::string> fail_ids = stage.config.get_text_list("selftest.fail_ids");
  std::vector<ItemRunItem> items;
  for (int64_t i = 0; i < n; ++i) items.push_back({fmt::format("item_{:04d}", i), double(rows_of(i)), i});
  const auto columns = store_columns({k_dim}, 1);

  ItemRunOptions ro;
  ro.output_dirs = {"rows"};
  ro.retry_failed = options.retry_failed;
  ItemRunResult result = item_run(comm, stage, items, ro, [&](const ItemRunItem& item, ItemContext& ctx) {
    for (auto& bad : fail_ids)
      if (bad == item.id) throw DataError(fmt::format("{}: injected failure (selftest.fail_ids)", item.id));
    const std::string name = "rows/" + item.id + ".h5";
    RowFileWriter w(ctx.work().path_for(name), k_store_schema, k_store_schema_version, columns);
    w.set_attr_int64s("latent_shape", {k_dim});
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < rows_of(item.index); ++r) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms_per_row));
      float latent[k_dim], label = float(r % 2);
      for (int64_t k = 0; k < k_dim; ++k) latent[k] = value_of(item.index, r, k);
      int64_t video = item.index, frame = r;
      w.append(k_col_latents, latent, 1);
      w.append(k_col_labels, &label, 1);
      w.append(k_col_video_index, &video, 1);
      w.append(k_col_frame_index, &frame, 1);
      ctx.poll();
    }
    w.finalize();
    ctx.timings()["rows"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ctx.info()["rows"] = rows_of(item.index);
  });
  if (comm.rank() == 0) {
    ItemIndexSpec spec{k_store_schema, k_store_schema_version, columns, [&](RowFileWriter& index) {
                         index.set_attr_int64s("latent_shape", {k_dim});
                         index.write_strings(k_ds_attribute_names, {"parity"});
                       }};
    int64_t rows = item_index_write_from_ledger(stage.run_dir / "selftest.h5", spec, ItemLedger(stage.run_dir),
                                                result.done_ids,
                                                [](const std::string& id) { return "rows/" + id + ".h5"; });
    spdlog::info("item-selftest: index {} over {} done item(s), {} rows", (stage.run_dir / "selftest.h5").string(),
                 result.done_ids.size(), rows);
  }
  comm.barrier();
  return item_run_exit_code(result);
}

}  // namespace s3e
