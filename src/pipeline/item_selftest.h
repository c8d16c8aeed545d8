// item_selftest.h — `s3editor item-selftest`: a real item stage over synthetic items, for the tests of the item
// runner (pipeline/item_run.h) under mpiexec: kills, signals, reruns at other rank counts, failing items. Item i
// ("item_0000", ...) has 1 + (7 i mod 13) rows; each row sleeps selftest.ms_per_row (so a kill lands mid-run) and
// is a deterministic function of (item, row), written to rows/<id>.h5; at the end rank 0 rebuilds the index
// <run>/selftest.h5 over the done items in item order. Items listed in selftest.fail_ids throw a DataError.
#pragma once
#include <cstdint>
#include <string>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct ItemSelftestOptions {
  StageRun run;
  bool retry_failed = false;
};

void pipeline_item_selftest_add_config(ConfigSchema& schema);
int pipeline_item_selftest_run(Communicator& comm, const ItemSelftestOptions& options);

}  // namespace s3e
