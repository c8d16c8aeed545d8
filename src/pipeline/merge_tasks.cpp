#include "pipeline/merge_tasks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/file_util.h"
#include "core/run_lock.h"
#include "store/item_ledger.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {

std::string ItemShard::text() const { return fmt::format("{}/{}", index, count); }

ItemShard item_shard_parse(const std::string& text, const std::string& origin) {
  if (text.empty()) return {};
  const auto bad = [&](const std::string& why) {
    return UsageError(fmt::format("run.shard = '{}' (from {}): {}; expected I/N with 0 <= I < N, e.g. --shard "
                                  "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT", text, origin, why));
  };
  const size_t slash = text.find('/');
  if (slash == std::string::npos) throw bad("no '/'");
  const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
  const auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(a) || !digits(b)) throw bad("I and N must be whole numbers");
  ItemShard s{std::stoll(a), std::stoll(b)};
  if (s.count < 1) throw bad("N must be at least 1");
  if (s.index >= s.count) throw bad("I must be below N (shards count from 0)");
  return s;
}

namespace {

struct TaskFolder {
  fs::path dir;
  ItemShard shard;
  std::vector<std::string> ids;  // the task's item list (its plan)
};

std::string first_ids(const std::vector<std::string>& ids, size_t n = 5) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < n; ++i) out += (i ? ", " : "") + ids[i];
  if (ids.size() > n) out += fmt::format(", ... ({} more)", ids.size() - n);
  return out;
}

// Task folders sorted by number when their names are numbers (tasks/2 before tasks/10), else by name.
std::vector<fs::path> task_dirs(const fs::path& tasks) {
  std::vector<fs::path> dirs;
  for (auto& e : fs::directory_iterator(tasks))
    if (e.is_directory() && e.path().filename().string()[0] != '.') dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    const std::string x = a.filename().string(), y = b.filename().string();
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  });
  return dirs;
}

TaskFolder read_task(const StageRun& stage, const fs::path& dir) {
  const fs::path plan_path = dir / (stage.stage + ".items.json");
  if (!fs::exists(plan_path))
    throw UsageError(fmt::format("{}: no {}.items.json: this task folder has not run {} yet (array task pending or "
                                 "failed at its start?); run it, then merge again", dir.string(), stage.stage,
                                 stage.stage));
  if (auto holder = run_lock_holder(dir))
    throw UsageError(fmt::format("{}: in use by {}: a task is still running; merge once every task has ended",
                                 dir.string(), holder->describe()));
  json plan;
  try {
    plan = json::parse(file_read_all(plan_path));
  } catch (const json::exception& e) {
    throw DataError(fmt::format("{}: not a plan of items: {}", plan_path.string(), e.what()));
  }
  if (!plan.contains("shard"))
    throw UsageError(fmt::format("{}: {} ran there without --shard: not a task of a job array", dir.string(),
                                 stage.stage));
  TaskFolder t;
  t.dir = dir;
  t.shard.index = plan["shard"].value("index", int64_t(-1));
  t.shard.count = plan["shard"].value("count", int64_t(0));
  for (auto& item : plan.value("items", json::array())) t.ids.push_back(item.value("id", std::string()));
  return t;
}

// Relative, '/'-separated, no "..", not absolute: a record names files inside its run folder.
void check_output_name(const fs::path& task, const std::string& name) {
  const fs::path p(name);
  bool ok = !name.empty() && p.is_relative();
  for (auto& part : p) ok = ok && part != ".." && part != ".";
  if (!ok) throw DataError(fmt::format("{}: a done record names the output '{}', outside the run folder", task.string(), name));
}

// dst as a hard link of src (the same bytes, no copy), or a copy where links are impossible (another filesystem).
void link_or_copy(const fs::path& src, const fs::path& dst) {
  fs::create_directories(dst.parent_path());
  std::error_code ec;
  fs::remove(dst, ec);
  fs::create_hard_link(src, dst, ec);
  if (!ec) return;
  const fs::path temp = file_temp_path(dst);
  fs::copy_file(src, temp, fs::copy_options::overwrite_existing);
  file_commit(temp, dst);
}

bool same_outputs(const ItemDoneRecord& a, const ItemDoneRecord& b) {
  if (a.outputs.size() != b.outputs.size()) return false;
  for (size_t i = 0; i < a.outputs.size(); ++i)
    if (a.outputs[i].name != b.outputs[i].name || a.outputs[i].sha256 != b.outputs[i].sha256) return false;
  return true;
}

}  // namespace

MergeTasksReport merge_tasks_gather(const StageRun& stage, const std::vector<std::string>& item_ids) {
  const fs::path tasks = stage.run_dir / "tasks";
  std::vector<fs::path> dirs;
  if (fs::is_directory(tasks)) dirs = task_dirs(tasks);
  if (dirs.empty())
    throw UsageError(fmt::format("{}: no task folders to merge (array task I of N runs with --shard I/N --run-dir "
                                 "{}/I)", tasks.string(), tasks.string()));

  // 1. Every task's plan: one shard count, each shard exactly once.
  std::vector<TaskFolder> all;
  for (auto& d : dirs) all.push_back(read_task(stage, d));
  const int64_t n = all.front().shard.count;
  std::map<int64_t, fs::path> by_shard;
  for (auto& t : all) {
    if (t.shard.count != n || t.shard.index < 0 || t.shard.index >= n)
      throw UsageError(fmt::format("{} ran shard {} but {} ran shard {}: the task folders come from different "
                                   "arrays", t.dir.string(), t.shard.text(), all.front().dir.string(),
                                   all.front().shard.text()));
    auto [it, fresh] = by_shard.emplace(t.shard.index, t.dir);
    if (!fresh)
      throw UsageError(fmt::format("{} and {} both ran shard {} (overlapping shards: their items would be "
                                   "counted twice); remove one", it->second.string(), t.dir.string(), t.shard.text()));
  }
  for (int64_t k = 0; k < n; ++k)
    if (!by_shard.count(k))
      throw UsageError(fmt::format("{}: no task folder ran shard {}/{} (its items would be missing); run array task "
                                   "{}, then merge again", tasks.string(), k, n, k));

  // 2. Each task holds exactly its shard of this run's item list, with this run's settings, and finished it.
  const fs::path settings_path = stage.run_dir / (stage.stage + ".settings.txt");
  const std::string settings = fs::exists(settings_path) ? file_read_all(settings_path) : std::string();
  std::map<std::string, int64_t> position;
  for (int64_t i = 0; i < int64_t(item_ids.size()); ++i) position[item_ids[i]] = i;
  for (auto& t : all) {
    std::vector<std::string> expected;
    for (int64_t i = 0; i < int64_t(item_ids.size()); ++i)
      if (t.shard.holds(i)) expected.push_back(item_ids[i]);
    if (t.ids != expected) {
      size_t k = 0;
      while (k < t.ids.size() && k < expected.size() && t.ids[k] == expected[k]) ++k;
      throw UsageError(fmt::format(
          "{}: its {} item(s) are not shard {} of this run's {} item(s) (first difference at its item {}: {} there, "
          "{} here): the task ran on other inputs", t.dir.string(), t.ids.size(), t.shard.text(), item_ids.size(), k,
          k < t.ids.size() ? t.ids[k] : "none", k < expected.size() ? expected[k] : "none"));
    }
    const fs::path task_settings = t.dir / (stage.stage + ".settings.txt");
    if (!settings.empty() && fs::exists(task_settings) && file_read_all(task_settings) != settings)
      throw UsageError(fmt::format("{}: ran {} with other settings or inputs than this merge ({} differs from {})",
                                   t.dir.string(), stage.stage, task_settings.string(), settings_path.string()));
    ItemLedger ledger(t.dir);
    std::vector<std::string> pending;
    for (auto& id : t.ids)
      if (ledger.status(id) == ItemStatus::pending) pending.push_back(id);
    if (!pending.empty())
      throw UsageError(fmt::format("{} is incomplete: {} of {} item(s) of shard {} not done ({}); rerun that array "
                                   "task (the same command with --shard {} --run-dir {}), then merge again",
                                   t.dir.string(), pending.size(), t.ids.size(), t.shard.text(), first_ids(pending),
                                   t.shard.text(), t.dir.string()));
    for (auto& r : ledger.done_records()) {
      auto p = position.find(r.id);
      if (p == position.end() || !t.shard.holds(p->second))
        throw UsageError(fmt::format("{}: item {} is done there but is not in its shard {} (overlapping shards, or a "
                                     "task folder reused with another --shard)", t.dir.string(), r.id,
                                     t.shard.text()));
    }
  }

  // 3. Gather: outputs first, the done record last (the commit point, as in a run), so that a merge killed half way
  // leaves uncommitted outputs that the next one replaces.
  MergeTasksReport report;
  report.tasks = int64_t(all.size());
  ItemLedger merged(stage.run_dir);
  fs::create_directories(merged.items_dir());
  for (auto& t : all) {
    ItemLedger ledger(t.dir);
    for (auto& id : t.ids) {
      if (auto rec = ledger.done_record(id)) {
        if (auto have = merged.done_record(id)) {
          if (!same_outputs(*have, *rec))
            throw UsageError(fmt::format("{}: item {} is done there with other outputs than in {} (was the folder "
                                         "used by another run? --fresh starts the merge over)",
                                         stage.run_dir.string(), id, t.dir.string()));
          ++report.already;
          continue;
        }
        for (auto& o : rec->outputs) {
          check_output_name(t.dir, o.name);
          const fs::path src = t.dir / o.name;
          std::error_code ec;
          const auto bytes = fs::file_size(src, ec);
          if (ec || int64_t(bytes) != o.bytes)
            throw DataError(fmt::format("{}: {} (its done record says {} bytes)", src.string(),
                                        ec ? "missing" : fmt::format("{} bytes", bytes), o.bytes));
          link_or_copy(src, stage.run_dir / o.name);
          ++report.linked_files;
        }
        fs::remove(merged.failed_path(id));
        file_write_atomic(merged.done_path(id), file_read_all(ledger.done_path(id)));
        ++report.gathered_done;
      } else if (ledger.status(id) == ItemStatus::failed && merged.status(id) != ItemStatus::done) {
        file_write_atomic(merged.failed_path(id), file_read_all(ledger.failed_path(id)));
        ++report.gathered_failed;
      }
    }
  }
  spdlog::info("{}: merged {} task folder(s) of {}: {} item(s) gathered now ({} output file(s) linked), {} failed, {} "
               "gathered before", stage.stage, report.tasks, tasks.string(), report.gathered_done, report.linked_files,
               report.gathered_failed, report.already);
  return report;
}

}  // namespace s3e
