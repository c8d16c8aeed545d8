// item_run.h — the loop every item stage shares (ingest, edit, eval over videos; the item self-test): items handed
// out over the ranks by the work queue (dist/work_queue.h, largest first), each one's outputs committed through the
// item ledger (store/item_ledger.h), so that a run killed, signalled or requeued on another rank count resumes
// without redoing or losing finished items, and one bad item never stops the others.
//
// Usage (every rank):
//   ItemRunOptions o;  o.output_dirs = {"edited"};  o.retry_failed = ...;
//   ItemRunResult r = item_run(comm, stage, items, o, [&](const ItemRunItem& item, ItemContext& ctx) {
//     for (each frame) { ...; ctx.poll(); }                 // between frames: serves the queue, honours a stop
//     write ctx.work().path_for("edited/" + item.id + ".mp4");
//     ctx.info()["frames"] = n;  ctx.timings()["decode"] += s;
//   });
//   if (rank 0) rebuild the stage's index from r.done_ids (item order);
//   return item_run_exit_code(r);  // 0, 3 when some items failed (listed in <run>/failed.csv), throws 75 on stop
//
// Protocol:
// 1. Rank 0 (which holds the run folder's lock) removes what interrupted attempts left (cleanup_leftovers), writes
//    `<run>/<stage>.items.json` (every item id and cost: what `s3editor status` counts against), decides which items
//    still have to run (pending, and failed ones with retry_failed) and broadcasts that list: every rank then builds
//    the same work queue, and no rank reads ledger state that rank 0 is changing.
// 2. The queue hands out items. Each item is begun in the ledger, processed, then committed (outputs renamed, then
//    the done record) or, when the process function throws, failed with the reason and error class (the run goes
//    on); a TransientError (lost peer, full disk) abandons the item, which stays pending, and ends the job with exit
//    75. A stop signal makes ctx.poll() abandon the item in hand (its temporaries removed); the flag travels in the
//    queue's requests, so no per-item collective makes every rank wait for the slowest item.
// 3. After the queue every rank learns the outcome (stopped or not, how many items failed) through one collective.
//    A stopped run throws TransientError (exit 75: requeue); done items stay done.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/communicator.h"
#include "dist/work_queue.h"
#include "pipeline/stage_run.h"
#include "store/item_ledger.h"

namespace s3e {

struct ItemRunItem {
  std::string id;    // file-name stem, unique in the run (item_ledger.h)
  double cost = 1;   // estimated work (frames, rows): the queue hands out the largest first
  int64_t index = 0; // position in the stage's item list (the index's order)
};

struct ItemRunOptions {
  std::vector<std::string> output_dirs;  // folders under the run folder where items write (ledger cleanup scope)
  bool retry_failed = false;             // rerun items recorded as failed
  WorkQueueMode mode = WorkQueueMode::dynamic;
  // Rank 0's progress line counts items, or with a unit (e.g. "frames") the items' costs handed out in that unit,
  // so its rate and ETA are in frames/s over all ranks.
  std::string progress_unit;
};

// What a process function gets for its item.
class ItemContext {
 public:
  ItemContext(ItemWork& work, WorkQueue& queue) : work_(work), queue_(queue) {}
  ItemWork& work() { return work_; }
  nlohmann::json& info() { return info_; }      // stored in the done record: must not depend on the rank count
  ItemTimings& timings() { return timings_; }   // seconds by phase
  // Call between frames or batches (at least every few seconds): rank 0 answers waiting ranks; when a stop was
  // requested anywhere, throws ItemStopped so the runner abandons this item.
  void poll();

 private:
  ItemWork& work_;
  WorkQueue& queue_;
  nlohmann::json info_ = nlohmann::json::object();
  ItemTimings timings_;
};

// Thrown by ItemContext::poll() on a stop; the runner catches it (process functions let it pass).
struct ItemStopped {};

using ItemProcess = std::function<void(const ItemRunItem& item, ItemContext& ctx)>;

struct ItemRunResult {
  int64_t items = 0;           // in the stage's list
  int64_t already_done = 0;    // skipped: done in an earlier run
  int64_t done_now = 0;        // committed in this run (all ranks)
  int64_t failed = 0;          // recorded as failed in the ledger after this run (all ranks)
  int64_t left = 0;            // neither done nor failed (only after a stop)
  bool stopped = false;
  std::vector<std::string> done_ids;  // rank 0: every done item, in item order (for the index)
};

// The keys run.shard and run.merge_tasks (pipeline/merge_tasks.h): a stage that adds them to its schema can run one
// shard of its items (`--shard I/N`: the items at positions I, I+N, ... of `items`; the result, done_ids included,
// is about those only) or gather a job array's task folders before it runs (`--merge-tasks`).
void item_run_add_config(ConfigSchema& schema);

// Collective. Throws TransientError after a stop (exit 75); per-item errors are recorded, never thrown.
ItemRunResult item_run(Communicator& comm, const StageRun& stage, const std::vector<ItemRunItem>& items,
                       const ItemRunOptions& options, const ItemProcess& process);

// 0 when every item is done; 3 (ExitCode::bad_data) when some failed: they are listed in <run>/failed.csv.
int item_run_exit_code(const ItemRunResult& result);

}  // namespace s3e
