#include "pipeline/item_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <map>
#include <set>

#include "core/errors.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "core/stop_signal.h"
#include "pipeline/merge_tasks.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {

void ItemContext::poll() {
  if (queue_.serve(stop_requested())) throw ItemStopped{};
}

namespace {

// Rank 0: clean up, gather a job array's tasks (merge), record the plan, and choose the items that still have to
// run (indices into `items`, the shard's items when sharded; `all_items` is the stage's whole list).
std::vector<int64_t> plan_on_root(const StageRun& stage, const ItemLedger& ledger,
                                  const std::vector<ItemRunItem>& items, const std::vector<ItemRunItem>& all_items,
                                  const ItemShard& shard, bool merge, bool retry_failed, int64_t* already_done) {
  ItemCleanupReport cleaned = ledger.cleanup_leftovers();
  if (!cleaned.interrupted.empty() || !cleaned.temporaries.empty() || !cleaned.outputs.empty())
    spdlog::info("{}: removed what interrupted attempts left: {} item(s) ({} temporary file(s), {} uncommitted "
                 "output(s))", stage.stage, cleaned.interrupted.size(), cleaned.temporaries.size(),
                 cleaned.outputs.size());
  for (auto& bad : cleaned.unreadable_records) spdlog::warn("{}: unreadable record {} ignored", stage.stage, bad.string());
  if (merge) {
    std::vector<std::string> ids;
    for (auto& item : all_items) ids.push_back(item.id);
    merge_tasks_gather(stage, ids);
  }
  json plan = {{"stage", stage.stage}, {"items", json::array()}};
  for (auto& item : items) plan["items"].push_back({{"id", item.id}, {"cost", item.cost}});
  // A shard's plan says which one, and of how many items: what merge_tasks_gather checks the task folders against.
  if (shard.enabled())
    plan["shard"] = {{"index", shard.index}, {"count", shard.count}, {"items_total", int64_t(all_items.size())}};
  file_write_atomic(stage.run_dir / (stage.stage + ".items.json"), plan.dump(1) + "\n");
  std::vector<int64_t> todo;
  *already_done = 0;
  for (int64_t i = 0; i < int64_t(items.size()); ++i) {
    ItemStatus s = ledger.status(items[i].id);
    if (s == ItemStatus::done) ++*already_done;
    if (ledger.should_run(items[i].id, retry_failed)) todo.push_back(i);
  }
  return todo;
}

}  // namespace

void item_run_add_config(ConfigSchema& schema) {
  schema
      .add_text("run.shard", "", "item stages: run only shard I/N of the items (I from 0; items I, I+N, I+2N, ... of "
                                 "the stage's list), in a run folder of its own: one task of a job array "
                                 "(slurm/edit_array.sbatch; --shard); empty: every item")
      .add_bool("run.merge_tasks", false, "item stages: first gather what <run-dir>/tasks/*/ (the shards of a job "
                                          "array) committed into this run folder, refusing incomplete, missing or "
                                          "overlapping shards; then write the index over every item (--merge-tasks)");
}

ItemRunResult item_run(Communicator& comm, const StageRun& stage, const std::vector<ItemRunItem>& all_items,
                       const ItemRunOptions& options, const ItemProcess& process) {
  const bool root = comm.rank() == 0;
  std::set<std::string> seen;
  for (auto& item : all_items) {
    item_id_check(item.id);
    if (!seen.insert(item.id).second)
      throw DataError(fmt::format("{}: item id '{}' appears twice in the input list (ids name output files)",
                                  stage.stage, item.id));
  }
  // Sharding and merging (pipeline/merge_tasks.h): only for stages that declare the keys (item_run_add_config).
  const Config& cfg = stage.config;
  ItemShard shard;
  bool merge = false;
  if (cfg.schema().find("run.shard")) shard = item_shard_parse(cfg.get_text("run.shard"), cfg.source_of("run.shard"));
  if (cfg.schema().find("run.merge_tasks")) merge = cfg.get_bool("run.merge_tasks");
  if (shard.enabled() && merge)
    throw UsageError(fmt::format("{}: --shard {} and --merge-tasks together: array tasks run their shard, then one "
                                 "run with --merge-tasks (and no --shard) merges them", stage.stage, shard.text()));
  std::vector<ItemRunItem> shard_items;
  if (shard.enabled()) {
    for (int64_t i = 0; i < int64_t(all_items.size()); ++i)
      if (shard.holds(i)) shard_items.push_back(all_items[size_t(i)]);
    if (root)
      spdlog::info("{}: shard {}: {} of the {} item(s) (round-robin by item index)", stage.stage, shard.text(),
                   shard_items.size(), all_items.size());
  }
  const std::vector<ItemRunItem>& items = shard.enabled() ? shard_items : all_items;
  ItemLedger ledger(stage.run_dir, options.output_dirs);
  ItemRunResult result;
  result.items = int64_t(items.size());

  // 1. Rank 0 plans; the broadcast also keeps every rank from beginning an item before the cleanup is over.
  std::string plan_text;
  if (root) {
    json todo_json =
        plan_on_root(stage, ledger, items, all_items, shard, merge, options.retry_failed, &result.already_done);
    plan_text = json{{"todo", todo_json}, {"already_done", result.already_done}}.dump();
  }
  json plan = json::parse(comm_broadcast_string(comm, plan_text, 0));
  std::vector<int64_t> todo = plan["todo"].get<std::vector<int64_t>>();
  result.already_done = plan["already_done"].get<int64_t>();
  if (root && result.already_done > 0)
    spdlog::info("{}: {} of {} item(s) already done, {} to run", stage.stage, result.already_done, items.size(),
                 todo.size());

  // 2. The queue over the items still to run.
  std::vector<double> costs;
  for (int64_t i : todo) costs.push_back(items[i].cost);
  const bool by_cost = !options.progress_unit.empty();
  double total_cost = 0;
  for (double c : costs) total_cost += c;
  Progress progress(stage.stage + (by_cost ? " " + options.progress_unit : " items"),
                    by_cost ? int64_t(std::llround(total_cost)) : int64_t(todo.size()), root);
  WorkQueueOptions qo;
  qo.mode = options.mode;
  qo.stop_flag = [] { return stop_requested(); };
  // A rank asks for its next item when it has finished the previous one, so each answer completes what that rank
  // was given before: the line counts finished work, over all ranks.
  std::map<int, double> in_hand;
  qo.on_event = [&](const WorkQueueEvent& e) {
    double& held = in_hand[e.rank];
    if (held > 0) progress.advance(int64_t(std::llround(held)));
    held = e.kind == WorkQueueEvent::Kind::item ? (by_cost ? e.cost : 1.0) : 0.0;
  };
  WorkQueue queue(comm, costs, qo);
  int64_t done_here = 0, failed_here = 0;
  while (auto slot = queue.next(stop_requested())) {
    const ItemRunItem& item = items[todo[*slot]];
    ItemWork work = ledger.begin(item.id, comm.rank());
    ItemContext ctx(work, queue);
    try {
      process(item, ctx);
      work.commit(ctx.timings(), ctx.info());
      ++done_here;
    } catch (const ItemStopped&) {
      work.abandon();
      spdlog::info("item {} abandoned: {} (its temporary files removed)", item.id, stop_reason());
    } catch (const TransientError& e) {
      // Not the item's fault (a lost peer, a full disk): it stays pending for the requeued run, and the job ends 75.
      work.abandon();
      throw;
    } catch (const std::exception& e) {
      // One bad item never stops the run: record why and go on (the ledger names the class for --retry-failed).
      work.fail(e.what(), item_error_class_of(e));
      ++failed_here;
      spdlog::warn("item {} failed: {}", item.id, e.what());
    }
  }
  progress.finish();

  // 3. One collective after the queue: every rank has left its loop, so nobody waits for a long item here.
  int64_t counts[2] = {done_here, failed_here};
  comm.allreduce(counts, 2, DType::i64, ReduceOp::sum);
  result.done_now = counts[0];
  result.stopped = comm_allreduce_int64(comm, queue.stopped() || stop_requested() ? 1 : 0, ReduceOp::max) != 0;
  if (root) {
    int64_t failed = 0, done = 0;
    for (auto& item : items) {
      ItemStatus s = ledger.status(item.id);
      if (s == ItemStatus::done) {
        ++done;
        result.done_ids.push_back(item.id);
      } else if (s == ItemStatus::failed) {
        ++failed;
      }
    }
    result.failed = failed;
    result.left = result.items - done - failed;
    fs::path csv = stage.run_dir / "failed.csv";
    if (failed > 0) ledger.write_failed_csv(csv);
    else fs::remove(csv);
  }
  int64_t summary[2] = {result.failed, result.left};
  comm.broadcast(summary, 2, DType::i64, 0);
  result.failed = summary[0], result.left = summary[1];
  // A stop that arrived after the last item was handed out leaves nothing to redo: the run ends normally.
  if (result.stopped && result.left > 0)
    throw TransientError(fmt::format("{}: stopped by {} with {} of {} item(s) done and {} left; rerun the same "
                                     "command to finish (done items are kept)", stage.stage, stop_reason(),
                                     result.items - result.left - result.failed, result.items, result.left));
  if (root)
    spdlog::info("{}: {} item(s): {} done now, {} done before, {} failed{}", stage.stage, result.items,
                 result.done_now, result.already_done, result.failed,
                 result.failed ? fmt::format(" (listed in {})", (stage.run_dir / "failed.csv").string()) : "");
  return result;
}

int item_run_exit_code(const ItemRunResult& result) {
  return result.failed > 0 ? static_cast<int>(ExitCode::bad_data) : 0;
}

}  // namespace s3e
