// pipeline/merge_tasks.h — one item stage as a job array (docs/operations.md, "SLURM"): array task I of N runs the
// stage with `--shard I/N` (config run.shard) in a run folder of its own, `<run>/tasks/I/`, with its own lock and
// ledger, on the items I, I+N, I+2N, ... of the stage's item list (round-robin by item index, so that long and short
// items spread evenly: lists are often sorted by size or name). Afterwards the same stage command with
// `--merge-tasks --run-dir <run>` (config run.merge_tasks) gathers what every task committed into `<run>`'s ledger
// (outputs hard-linked, records copied byte for byte) and then runs as after any interrupted run: nothing is left to
// do, so it only writes its index over every item, the same file an unsharded run writes.
//
// The gathering refuses, naming the task folder: a task whose shard is not finished (pending items: rerun that array
// task), a task still running (its lock is held), a shard run by two task folders or by none (items would be doubled
// or missing), a task whose items are not shard I/N of this run's item list or that ran with other settings or inputs.
// Items a task recorded as failed stay failed in `<run>` (failed.csv, exit 3; `--retry-failed` in a task folder
// retries them there).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/stage_run.h"

namespace s3e {

struct ItemShard {
  int64_t index = 0;
  int64_t count = 0;  // 0: no sharding (every item)
  bool enabled() const { return count > 0; }
  // Whether the item at `position` of the stage's item list belongs to this shard.
  bool holds(int64_t position) const { return !enabled() || position % count == index; }
  std::string text() const;  // "I/N"
};

// "" -> disabled; "I/N" with 0 <= I < N. Throws UsageError naming the key's value and `origin` otherwise.
ItemShard item_shard_parse(const std::string& text, const std::string& origin);

struct MergeTasksReport {
  int64_t tasks = 0;
  int64_t gathered_done = 0;    // done records copied into the run folder now
  int64_t gathered_failed = 0;  // failed records copied
  int64_t already = 0;          // done in the run folder before (an earlier merge)
  int64_t linked_files = 0;     // outputs hard-linked (or copied across filesystems)
};

// Rank 0, holding `stage.run_dir`'s lock, before the stage's ledger is read: checks every `<run>/tasks/*/` against
// `item_ids` (the stage's whole item list, in order) and gathers their items into the run folder's ledger. Throws
// UsageError (exit 2) for a refusal, DataError (exit 3) for a task output that is missing or of the wrong size.
MergeTasksReport merge_tasks_gather(const StageRun& stage, const std::vector<std::string>& item_ids);

}  // namespace s3e
