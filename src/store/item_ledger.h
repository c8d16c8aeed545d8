// item_ledger.h — the per-item record of a run folder (docs/formats.md, "Item ledger"), so that an item stage
// (thousands of videos, ranks preempted and requeued, maybe on another rank count) can be killed at any point and
// rerun: done items are skipped, failed ones retried only when asked, leftovers of an interrupted item removed.
//
// Layout: records in `<run>/items/` — `<id>.done.json` (the commit point), `<id>.failed.json`, `<id>.started.json`
// (attempt counter and commit intent of an unfinished item); outputs anywhere under the folders the ledger was
// given (relative to the run folder), written under temporary names (`.<name>.tmp.<pid>`, core/file_util.h).
//
// One item's life: `ItemWork w = ledger.begin(id, rank)`; write each output to `w.path_for("faces/<id>.h5")`;
// then `w.commit(timings)` (renames the temporaries, then writes the done record) or `w.fail(reason, class)`
// (removes the temporaries, writes the failed record); a destroyed, uncommitted ItemWork removes its temporaries.
//
// Concurrency: all state is on disk; the ledger object is immutable and may be shared by threads (the fake world).
// Two processes must never work on the same item at once (the work queue hands each item to one rank), and
// cleanup_leftovers() runs on one rank while no item is in progress (at the start of a run, under its lock).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace s3e {

// --- item ids ---------------------------------------------------------------------------------------------------
// An id is a file-name stem: 1..k_item_id_max_length characters of [A-Za-z0-9._-], not starting with '.'
// (hidden names are temporaries). Video stems like "clip_0007" or "id10001.x3Hn-9.00001" qualify.
inline constexpr size_t k_item_id_max_length = 160;
bool item_id_valid(const std::string& id);
// Throws DataError naming the id and its first offending character (ids come from input lists).
void item_id_check(const std::string& id);

// --- records ----------------------------------------------------------------------------------------------------
enum class ItemStatus { pending, done, failed };
const char* item_status_name(ItemStatus s);  // "pending" / "done" / "failed"

// Why an item failed, which decides what a rerun should do: data (the input is bad: retrying is useless until it
// changes), usage (the item's options are wrong), bug (an unexpected exception), transient (may succeed later).
enum class ItemErrorClass { data, usage, bug, transient };
const char* item_error_class_name(ItemErrorClass c);   // "data" / "usage" / "bug" / "transient"
ItemErrorClass item_error_class_parse(const std::string& name);  // throws DataError on an unknown name
// DataError -> data, UsageError -> usage, TransientError -> transient, anything else -> bug.
ItemErrorClass item_error_class_of(const std::exception& e);

struct ItemOutput {
  std::string name;    // relative to the run folder, '/'-separated
  int64_t bytes = 0;
  std::string sha256;  // lowercase hex, as sha256sum prints it
};

using ItemTimings = std::map<std::string, double>;  // seconds by phase name ("decode", "detect", ...)

// `<run>/items/<id>.done.json`. Fields that vary between runs of the same item: rank, host, timings_s,
// finished_utc, and attempt (counts earlier interrupted or failed attempts). Everything else (id, outputs with
// sizes and hashes, info) depends only on the item, never on the rank count.
struct ItemDoneRecord {
  std::string id;
  std::vector<ItemOutput> outputs;  // sorted by name
  nlohmann::json info = nlohmann::json::object();  // the stage's own per-item facts (e.g. frames, rows)
  int attempt = 1;
  int rank = 0;
  std::string host;
  ItemTimings timings_s;  // the stage's phases plus "total" (begin to commit, measured by the ledger)
  std::string finished_utc;  // "2026-12-02T18:40:00Z"
};

// `<run>/items/<id>.failed.json`.
struct ItemFailedRecord {
  std::string id;
  std::string reason;  // the error message
  ItemErrorClass error_class = ItemErrorClass::bug;
  int attempt = 1;
  int rank = 0;
  std::string host;
  std::string failed_utc;
};

// What cleanup_leftovers() removed (paths absolute or relative as the run folder was given).
struct ItemCleanupReport {
  std::vector<std::filesystem::path> temporaries;  // `.<name>.tmp.<pid>` files of killed processes
  std::vector<std::filesystem::path> outputs;      // renamed outputs of items that have no done record
  std::vector<std::string> interrupted;            // ids begun and neither done nor failed (sorted)
  std::vector<std::filesystem::path> unreadable_records;  // done/started records that do not parse
};

class ItemLedger;

// --- one item's transaction -------------------------------------------------------------------------------------
class ItemWork {
 public:
  ItemWork(ItemWork&& other) noexcept;
  ItemWork& operator=(ItemWork&&) = delete;
  ItemWork(const ItemWork&) = delete;
  ItemWork& operator=(const ItemWork&) = delete;
  // Abandons the item unless it was committed or failed: removes its temporaries (e.g. on a stop signal, or while
  // an exception unwinds). Never throws.
  ~ItemWork();

  const std::string& id() const { return id_; }
  int attempt() const { return attempt_; }
  int rank() const { return rank_; }

  // The temporary path to write output `name` (relative to the run folder, inside one of the ledger's output
  // folders, e.g. "faces/clip_0007.h5"); creates its folder. Calling it again with the same name returns the same
  // path. Throws std::invalid_argument for a name that is absolute, has "..", a hidden component, lies in
  // items/, or lies outside the output folders (cleanup_leftovers() would not find its temporaries).
  std::filesystem::path path_for(const std::string& name);
  // Where output `name` will be after commit().
  std::filesystem::path final_path(const std::string& name) const;

  // Renames every output asked with path_for() (each must have been written as a regular file) onto its final
  // name, then writes the done record, and returns it. If anything fails before the done record exists, the
  // renamed outputs and temporaries are removed and the item stays pending. `info` is stored as the record's
  // "info" (it must not depend on the rank count).
  const ItemDoneRecord& commit(const ItemTimings& timings = {},
                               const nlohmann::json& info = nlohmann::json::object());
  // Removes the temporaries and writes the failed record.
  const ItemFailedRecord& fail(const std::string& reason, ItemErrorClass error_class);
  // What the destructor does, explicitly.
  void abandon() noexcept;

 private:
  friend class ItemLedger;
  ItemWork(std::filesystem::path run_dir, std::vector<std::string> output_dirs, std::string id, int rank,
           int attempt, std::string host);
  struct Output {
    std::string name;
    std::filesystem::path temp, final;
  };
  void remove_temporaries() noexcept;
  enum class State { open, committed, failed, abandoned };
  std::filesystem::path run_dir_;
  std::vector<std::string> output_dirs_;
  std::string id_;
  int rank_ = 0, attempt_ = 1;
  std::string host_;
  double start_seconds_ = 0;  // steady clock
  std::vector<Output> outputs_;
  State state_ = State::open;
  ItemDoneRecord done_;
  ItemFailedRecord failed_;
};

// --- the ledger of one run folder -------------------------------------------------------------------------------
class ItemLedger {
 public:
  // `output_dirs`: folders (relative to `run_dir`, e.g. {"faces", "crops"}) in which items write their outputs;
  // needed to begin items and to clean up, not to read records. Creates `<run>/items/` when items are begun.
  explicit ItemLedger(std::filesystem::path run_dir, std::vector<std::string> output_dirs = {});

  const std::filesystem::path& run_dir() const { return run_dir_; }
  std::filesystem::path items_dir() const { return run_dir_ / "items"; }
  std::filesystem::path done_path(const std::string& id) const;
  std::filesystem::path failed_path(const std::string& id) const;
  std::filesystem::path started_path(const std::string& id) const;

  // done iff the done record exists and parses; else failed iff the failed record parses; else pending.
  ItemStatus status(const std::string& id) const;
  // done: false; failed: `retry_failed`; pending: true.
  bool should_run(const std::string& id, bool retry_failed) const;
  std::optional<ItemDoneRecord> done_record(const std::string& id) const;
  std::optional<ItemFailedRecord> failed_record(const std::string& id) const;

  // Starts an item on `rank`: records the attempt (one more than any earlier attempt of it), then removes its
  // failed record if any (a retry), and returns the transaction. Throws std::logic_error if the item is done
  // (call should_run() first: a done record is never rewritten).
  ItemWork begin(const std::string& id, int rank) const;

  // Removes what interrupted items left: temporaries (`.*.tmp.<pid>`) in items/ and the output folders, and outputs
  // renamed by a commit that was killed before its done record. Never touches a done item's outputs.
  ItemCleanupReport cleanup_leftovers() const;

  // All parsable records, sorted by id.
  std::vector<ItemDoneRecord> done_records() const;
  std::vector<ItemFailedRecord> failed_records() const;
  // Writes (atomically) a CSV with header "id,reason,error_class,rank" and one row per failed item, sorted by id;
  // fields quoted as RFC 4180 when needed. Returns the number of rows. Conventionally `<run>/failed.csv`.
  size_t write_failed_csv(const std::filesystem::path& path) const;

 private:
  std::filesystem::path run_dir_;
  std::vector<std::string> output_dirs_;
};

// JSON text of the records exactly as written to disk (sorted keys, 2-space indent, trailing newline), and parsing
// (nullopt when the text is not a valid record).
std::string item_done_record_text(const ItemDoneRecord& r);
std::string item_failed_record_text(const ItemFailedRecord& r);
std::optional<ItemDoneRecord> item_done_record_parse(const std::string& text);
std::optional<ItemFailedRecord> item_failed_record_parse(const std::string& text);

// Test seam: when set, called at the commit's protocol points — "intent_written" (after the started record lists
// the outputs, before any rename) and "outputs_renamed" (before the done record) — so a test can kill the process
// exactly there (fork, then _exit in the hook). Null (nothing called) unless a test sets it.
using ItemCommitHook = void (*)(const char* point);
void item_ledger_set_commit_hook(ItemCommitHook hook);

}  // namespace s3e
