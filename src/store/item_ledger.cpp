#include "store/item_ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>

#include "core/clock_text.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "core/log.h"
#include "dist/sha256.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {

namespace {

constexpr const char* k_done_format = "s3editor.item_done";
constexpr const char* k_failed_format = "s3editor.item_failed";
constexpr const char* k_started_format = "s3editor.item_started";
constexpr int k_record_version = 1;
constexpr const char* k_done_suffix = ".done.json";
constexpr const char* k_failed_suffix = ".failed.json";
constexpr const char* k_started_suffix = ".started.json";

ItemCommitHook g_commit_hook = nullptr;

void hook(const char* point) {
  if (g_commit_hook) g_commit_hook(point);
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// Temporaries as core/file_util.h names them, also nested ones (RowFileWriter writing onto a path_for() path
// makes "..x.h5.tmp.12.tmp.12").
bool is_temporary_name(const std::string& name) {
  static const std::regex pattern(R"(^\..+\.tmp\.[0-9]+$)");
  return std::regex_match(name, pattern);
}

std::vector<std::string> split_components(const std::string& name) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    size_t end = name.find('/', begin);
    parts.push_back(name.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return parts;
}

// A '/'-separated relative name whose components are all visible, ordinary names; `what` names it in errors.
void check_relative_name(const std::string& name, const std::string& what) {
  if (name.empty()) throw std::invalid_argument(what + " is empty");
  if (name.front() == '/') throw std::invalid_argument(fmt::format("{} '{}' is absolute (must be relative to the run folder)", what, name));
  for (auto& part : split_components(name)) {
    if (part.empty() || part == "." || part == "..")
      throw std::invalid_argument(fmt::format("{} '{}' has an empty, '.' or '..' component", what, name));
    if (part.front() == '.')
      throw std::invalid_argument(fmt::format("{} '{}' has a hidden component '{}' (hidden names are temporaries)", what, name, part));
  }
  if (split_components(name).front() == "items")
    throw std::invalid_argument(fmt::format("{} '{}' lies in items/, which holds the ledger's records", what, name));
}

bool is_under(const std::string& name, const std::string& dir) {
  return name.size() > dir.size() && name.compare(0, dir.size(), dir) == 0 && name[dir.size()] == '/';
}

double rounded(double seconds) { return std::round(seconds * 1e6) / 1e6; }

std::optional<std::string> read_if_exists(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

void remove_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

// Writes `text` as `path` unless `path` exists. link() fails with EEXIST instead of replacing, so even a second
// writer racing for the same record cannot replace the first one's (a done record is never rewritten).
void write_no_replace(const fs::path& path, const std::string& text) {
  fs::path tmp = file_temp_path(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError(fmt::format("{}: cannot write here ({})", path.string(), std::strerror(errno)));
    out << text;
    if (!out.flush()) {
      remove_quietly(tmp);
      throw TransientError(fmt::format("{}: write failed", path.string()));
    }
  }
  try {
    file_sync(tmp);
  } catch (...) {
    remove_quietly(tmp);
    throw;
  }
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST) {
      remove_quietly(tmp);
      throw std::logic_error(fmt::format("{} exists already: the item was committed twice", path.string()));
    }
    // Filesystems without hard links: fall back to check-then-rename (the work queue already guarantees one
    // writer per item; link() only makes that guarantee visible).
    std::error_code ec;
    if (fs::exists(path, ec)) {
      remove_quietly(tmp);
      throw std::logic_error(fmt::format("{} exists already: the item was committed twice", path.string()));
    }
    fs::rename(tmp, path, ec);
    if (ec) {
      remove_quietly(tmp);
      throw TransientError(fmt::format("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message()));
    }
  } else {
    remove_quietly(tmp);
  }
  file_sync_dir(path.parent_path());
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::optional<ItemDoneRecord> read_done(const fs::path& path, const std::string& id) {
  auto text = read_if_exists(path);
  if (!text) return std::nullopt;
  auto r = item_done_record_parse(*text);
  if (!r || r->id != id) return std::nullopt;
  return r;
}

std::optional<ItemFailedRecord> read_failed(const fs::path& path, const std::string& id) {
  auto text = read_if_exists(path);
  if (!text) return std::nullopt;
  auto r = item_failed_record_parse(*text);
  if (!r || r->id != id) return std::nullopt;
  return r;
}

// The started record: the attempt counter and, during commit(), the intent (the outputs about to be renamed).
struct StartedRecord {
  std::string id;
  int attempt = 1;
  std::vector<std::string> committing;
};

std::string started_text(const std::string& id, int attempt, int rank, const std::string& host,
                         const std::vector<std::string>& committing) {
  json j;
  j["format"] = k_started_format;
  j["format_version"] = k_record_version;
  j["id"] = id;
  j["attempt"] = attempt;
  j["rank"] = rank;
  j["host"] = host;
  j["pid"] = static_cast<int64_t>(::getpid());
  j["started_utc"] = clock_utc_text();
  j["committing"] = committing;
  return j.dump(2) + "\n";
}

std::optional<StartedRecord> read_started(const fs::path& path, const std::string& id) {
  auto text = read_if_exists(path);
  if (!text) return std::nullopt;
  try {
    json j = json::parse(*text);
    if (j.at("format").get<std::string>() != k_started_format || j.at("format_version").get<int>() != k_record_version)
      return std::nullopt;
    StartedRecord r;
    r.id = j.at("id").get<std::string>();
    r.attempt = j.at("attempt").get<int>();
    r.committing = j.at("committing").get<std::vector<std::string>>();
    if (r.id != id) return std::nullopt;
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// Ids of the records in items/ with `suffix`, sorted.
std::vector<std::string> record_ids(const fs::path& items_dir, const std::string& suffix) {
  std::vector<std::string> ids;
  std::error_code ec;
  if (!fs::is_directory(items_dir, ec)) return ids;
  for (auto& entry : fs::directory_iterator(items_dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string id = name.substr(0, name.size() - suffix.size());
    if (item_id_valid(id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
bool item_id_valid(const std::string& id) {
  if (id.empty() || id.size() > k_item_id_max_length || id.front() == '.') return false;
  for (unsigned char c : id)
    if (!(std::isalnum(c) && c < 128) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

void item_id_check(const std::string& id) {
  if (item_id_valid(id)) return;
  if (id.empty()) throw DataError("item id is empty");
  if (id.size() > k_item_id_max_length)
    throw DataError(fmt::format("item id '{}' is {} characters long, at most {} are allowed", id, id.size(),
                                k_item_id_max_length));
  if (id.front() == '.') throw DataError(fmt::format("item id '{}' starts with '.' (hidden names are temporaries)", id));
  for (size_t i = 0; i < id.size(); ++i) {
    unsigned char c = id[i];
    if (!(std::isalnum(c) && c < 128) && c != '.' && c != '_' && c != '-')
      throw DataError(fmt::format("item id '{}' has character {} (byte 0x{:02x}) at position {}; ids may use only "
                                  "A-Z a-z 0-9 . _ -",
                                  id, c >= 32 && c < 127 ? fmt::format("'{}'", char(c)) : std::string("<unprintable>"),
                                  c, i));
  }
}

const char* item_status_name(ItemStatus s) {
  switch (s) {
    case ItemStatus::done: return "done";
    case ItemStatus::failed: return "failed";
    default: return "pending";
  }
}

const char* item_error_class_name(ItemErrorClass c) {
  switch (c) {
    case ItemErrorClass::data: return "data";
    case ItemErrorClass::usage: return "usage";
    case ItemErrorClass::transient: return "transient";
    default: return "bug";
  }
}

ItemErrorClass item_error_class_parse(const std::string& name) {
  for (auto c : {ItemErrorClass::data, ItemErrorClass::usage, ItemErrorClass::bug, ItemErrorClass::transient})
    if (name == item_error_class_name(c)) return c;
  throw DataError(fmt::format("unknown item error class '{}' (expected data, usage, bug or transient)", name));
}

ItemErrorClass item_error_class_of(const std::exception& e) {
  if (dynamic_cast<const DataError*>(&e)) return ItemErrorClass::data;
  if (dynamic_cast<const UsageError*>(&e)) return ItemErrorClass::usage;
  if (dynamic_cast<const TransientError*>(&e)) return ItemErrorClass::transient;
  return ItemErrorClass::bug;
}

void item_ledger_set_commit_hook(ItemCommitHook h) { g_commit_hook = h; }

// --- record text ------------------------------------------------------------------------------------------------
std::string item_done_record_text(const ItemDoneRecord& r) {
  json j;
  j["format"] = k_done_format;
  j["format_version"] = k_record_version;
  j["id"] = r.id;
  json outputs = json::array();
  for (auto& o : r.outputs) outputs.push_back({{"name", o.name}, {"bytes", o.bytes}, {"sha256", o.sha256}});
  j["outputs"] = outputs;
  j["info"] = r.info.is_null() ? json::object() : r.info;
  j["attempt"] = r.attempt;
  j["rank"] = r.rank;
  j["host"] = r.host;
  json timings = json::object();
  for (auto& [k, v] : r.timings_s) timings[k] = v;
  j["timings_s"] = timings;
  j["finished_utc"] = r.finished_utc;
  return j.dump(2) + "\n";
}

std::string item_failed_record_text(const ItemFailedRecord& r) {
  json j;
  j["format"] = k_failed_format;
  j["format_version"] = k_record_version;
  j["id"] = r.id;
  j["reason"] = r.reason;
  j["error_class"] = item_error_class_name(r.error_class);
  j["attempt"] = r.attempt;
  j["rank"] = r.rank;
  j["host"] = r.host;
  j["failed_utc"] = r.failed_utc;
  // error_handler::replace: a reason quoting a binary file name must not make the record unwritable.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<ItemDoneRecord> item_done_record_parse(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<std::string>() != k_done_format || j.at("format_version").get<int>() != k_record_version)
      return std::nullopt;
    ItemDoneRecord r;
    r.id = j.at("id").get<std::string>();
    if (!item_id_valid(r.id)) return std::nullopt;
    for (auto& o : j.at("outputs"))
      r.outputs.push_back({o.at("name").get<std::string>(), o.at("bytes").get<int64_t>(), o.at("sha256").get<std::string>()});
    r.info = j.value("info", json::object());
    r.attempt = j.at("attempt").get<int>();
    r.rank = j.at("rank").get<int>();
    r.host = j.at("host").get<std::string>();
    for (auto& [k, v] : j.at("timings_s").items()) r.timings_s[k] = v.get<double>();
    r.finished_utc = j.at("finished_utc").get<std::string>();
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<ItemFailedRecord> item_failed_record_parse(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<std::string>() != k_failed_format || j.at("format_version").get<int>() != k_record_version)
      return std::nullopt;
    ItemFailedRecord r;
    r.id = j.at("id").get<std::string>();
    if (!item_id_valid(r.id)) return std::nullopt;
    r.reason = j.at("reason").get<std::string>();
    r.error_class = item_error_class_parse(j.at("error_class").get<std::string>());
    r.attempt = j.at("attempt").get<int>();
    r.rank = j.at("rank").get<int>();
    r.host = j.at("host").get<std::string>();
    r.failed_utc = j.at("failed_utc").get<std::string>();
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  } catch (const DataError&) {
    return std::nullopt;
  }
}

// --- ItemWork ---------------------------------------------------------------------------------------------------
ItemWork::ItemWork(fs::path run_dir, std::vector<std::string> output_dirs, std::string id, int rank, int attempt,
                   std::string host)
    : run_dir_(std::move(run_dir)),
      output_dirs_(std::move(output_dirs)),
      id_(std::move(id)),
      rank_(rank),
      attempt_(attempt),
      host_(std::move(host)),
      start_seconds_(clock_steady_seconds()) {}

ItemWork::ItemWork(ItemWork&& o) noexcept
    : run_dir_(std::move(o.run_dir_)),
      output_dirs_(std::move(o.output_dirs_)),
      id_(std::move(o.id_)),
      rank_(o.rank_),
      attempt_(o.attempt_),
      host_(std::move(o.host_)),
      start_seconds_(o.start_seconds_),
      outputs_(std::move(o.outputs_)),
      state_(o.state_),
      done_(std::move(o.done_)),
      failed_(std::move(o.failed_)) {
  o.outputs_.clear();
  o.state_ = State::abandoned;  // the moved-from object owns nothing
}

ItemWork::~ItemWork() { abandon(); }

void ItemWork::remove_temporaries() noexcept {
  for (auto& o : outputs_) {
    std::error_code ec;
    fs::remove_all(o.temp, ec);
  }
}

void ItemWork::abandon() noexcept {
  if (state_ != State::open) return;
  // The started record stays: it keeps the attempt count, and the item is pending (rerun on the next run).
  remove_temporaries();
  state_ = State::abandoned;
}

fs::path ItemWork::path_for(const std::string& name) {
  if (state_ != State::open) throw std::logic_error(fmt::format("item {}: path_for('{}') after commit/fail", id_, name));
  for (auto& o : outputs_)
    if (o.name == name) return o.temp;
  check_relative_name(name, fmt::format("item {}: output name", id_));
  bool inside = std::any_of(output_dirs_.begin(), output_dirs_.end(), [&](auto& d) { return is_under(name, d); });
  if (!inside)
    throw std::invalid_argument(fmt::format("item {}: output '{}' is not inside the ledger's output folders ({})", id_,
                                            name, fmt::join(output_dirs_, ", ")));
  fs::path final = run_dir_ / name;
  file_ensure_writable_dir(final.parent_path());
  outputs_.push_back({name, file_temp_path(final), final});
  return outputs_.back().temp;
}

fs::path ItemWork::final_path(const std::string& name) const { return run_dir_ / name; }

const ItemDoneRecord& ItemWork::commit(const ItemTimings& timings, const json& info) {
  if (state_ != State::open) throw std::logic_error(fmt::format("item {}: commit after commit/fail/abandon", id_));
  ItemLedger ledger(run_dir_);
  fs::path done_path = ledger.done_path(id_);
  std::error_code ec;
  if (fs::exists(done_path, ec)) {
    abandon();
    throw std::logic_error(fmt::format("item {}: {} exists already (a done record is never rewritten)", id_,
                                       done_path.string()));
  }
  ItemDoneRecord r;
  r.id = id_;
  std::sort(outputs_.begin(), outputs_.end(), [](auto& a, auto& b) { return a.name < b.name; });
  try {
    for (auto& o : outputs_) {
      if (!fs::is_regular_file(o.temp, ec))
        throw std::logic_error(fmt::format("item {}: output '{}' was not written as a file at {}", id_, o.name,
                                           o.temp.string()));
      r.outputs.push_back({o.name, static_cast<int64_t>(fs::file_size(o.temp)), sha256_file(o.temp)});
    }
  } catch (...) {
    abandon();
    throw;
  }
  r.info = info.is_null() ? json::object() : info;
  r.attempt = attempt_;
  r.rank = rank_;
  r.host = host_;
  for (auto& [k, v] : timings) r.timings_s[k] = rounded(v);
  r.timings_s["total"] = rounded(clock_steady_seconds() - start_seconds_);
  r.finished_utc = clock_utc_text();

  std::vector<std::string> names;
  for (auto& o : outputs_) names.push_back(o.name);
  std::vector<fs::path> renamed;
  try {
    // Commit protocol. (1) The intent: the started record lists the outputs before any of them gets its final
    // name, so a process killed between the renames and the done record leaves a list of exactly which files
    // cleanup_leftovers() must remove (they have final names but belong to no done item).
    file_write_atomic(ledger.started_path(id_), started_text(id_, attempt_, rank_, host_, names));
    hook("intent_written");
    // (2) The outputs get their final names (fsynced first, so a done record never points at unwritten data).
    for (auto& o : outputs_) {
      file_commit(o.temp, o.final);
      renamed.push_back(o.final);
    }
    hook("outputs_renamed");
    // (3) The done record, written last, is the commit point: an item is done iff its done record exists and
    // parses. It is written under a temporary name and linked into place, so it appears complete or not at all,
    // and only after every output it names is complete under its final name.
    write_no_replace(done_path, item_done_record_text(r));
  } catch (...) {
    for (auto& f : renamed) remove_quietly(f);
    abandon();
    throw;
  }
  state_ = State::committed;
  // (4) The started record has done its job; if we die before this, the done record wins (status) and cleanup
  // removes the stale started record without touching the outputs.
  remove_quietly(ledger.started_path(id_));
  done_ = std::move(r);
  return done_;
}

const ItemFailedRecord& ItemWork::fail(const std::string& reason, ItemErrorClass error_class) {
  if (state_ != State::open) throw std::logic_error(fmt::format("item {}: fail after commit/fail/abandon", id_));
  remove_temporaries();
  state_ = State::failed;
  ItemLedger ledger(run_dir_);
  ItemFailedRecord r;
  r.id = id_;
  r.reason = reason;
  r.error_class = error_class;
  r.attempt = attempt_;
  r.rank = rank_;
  r.host = host_;
  r.failed_utc = clock_utc_text();
  file_write_atomic(ledger.failed_path(id_), item_failed_record_text(r));
  // The failed record carries the attempt count from here on.
  remove_quietly(ledger.started_path(id_));
  failed_ = std::move(r);
  return failed_;
}

// --- ItemLedger -------------------------------------------------------------------------------------------------
ItemLedger::ItemLedger(fs::path run_dir, std::vector<std::string> output_dirs)
    : run_dir_(std::move(run_dir)), output_dirs_(std::move(output_dirs)) {
  for (auto& d : output_dirs_) {
    while (!d.empty() && d.back() == '/') d.pop_back();
    check_relative_name(d, "item output folder");
  }
}

fs::path ItemLedger::done_path(const std::string& id) const {
  item_id_check(id);
  return items_dir() / (id + k_done_suffix);
}

fs::path ItemLedger::failed_path(const std::string& id) const {
  item_id_check(id);
  return items_dir() / (id + k_failed_suffix);
}

fs::path ItemLedger::started_path(const std::string& id) const {
  item_id_check(id);
  return items_dir() / (id + k_started_suffix);
}

std::optional<ItemDoneRecord> ItemLedger::done_record(const std::string& id) const {
  return read_done(done_path(id), id);
}

std::optional<ItemFailedRecord> ItemLedger::failed_record(const std::string& id) const {
  return read_failed(failed_path(id), id);
}

ItemStatus ItemLedger::status(const std::string& id) const {
  if (done_record(id)) return ItemStatus::done;
  if (failed_record(id)) return ItemStatus::failed;
  return ItemStatus::pending;
}

bool ItemLedger::should_run(const std::string& id, bool retry_failed) const {
  switch (status(id)) {
    case ItemStatus::done: return false;
    case ItemStatus::failed: return retry_failed;
    default: return true;
  }
}

ItemWork ItemLedger::begin(const std::string& id, int rank) const {
  if (output_dirs_.empty())
    throw std::logic_error(fmt::format("{}: an ItemLedger without output folders cannot begin items", run_dir_.string()));
  if (done_record(id))
    throw std::logic_error(fmt::format("item {} is done ({}); a done record is never rewritten (check should_run)",
                                       id, done_path(id).string()));
  file_ensure_writable_dir(items_dir());
  // A done record that does not parse is not a commit (it cannot come from this code, which links complete
  // records into place); remove it so that this attempt's done record can take its name.
  std::error_code ec;
  if (fs::exists(done_path(id), ec)) {
    spdlog::warn("item {}: removing unreadable done record {}", id, done_path(id).string());
    remove_quietly(done_path(id));
  }
  int earlier = 0;
  if (auto s = read_started(started_path(id), id)) earlier = std::max(earlier, s->attempt);
  auto failed = failed_record(id);
  if (failed) earlier = std::max(earlier, failed->attempt);
  std::string host = host_name();
  // The started record first, then the failed record goes: a kill in between leaves the item failed (with its
  // count), a kill after leaves it pending with the count in the started record.
  file_write_atomic(started_path(id), started_text(id, earlier + 1, rank, host, {}));
  if (fs::exists(failed_path(id), ec)) {
    remove_quietly(failed_path(id));
    file_sync_dir(items_dir());
  }
  return ItemWork(run_dir_, output_dirs_, id, rank, earlier + 1, host);
}

ItemCleanupReport ItemLedger::cleanup_leftovers() const {
  ItemCleanupReport report;
  std::error_code ec;
  // Temporaries: any hidden ".<name>.tmp.<pid>" in items/ or below an output folder belongs to a process that was
  // killed (no item is in progress while this runs), whatever its pid.
  std::vector<fs::path> dirs = {items_dir()};
  for (auto& d : output_dirs_) dirs.push_back(run_dir_ / d);
  for (auto& dir : dirs) {
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> found;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (is_temporary_name(it->path().filename().string())) {
        found.push_back(it->path());
        if (it->is_directory(ec)) it.disable_recursion_pending();
      }
    }
    for (auto& p : found) {
      fs::remove_all(p, ec);
      report.temporaries.push_back(p);
    }
  }
  // Done records that do not parse are not commits.
  for (auto& id : record_ids(items_dir(), k_done_suffix)) {
    if (!done_record(id)) {
      report.unreadable_records.push_back(done_path(id));
      remove_quietly(done_path(id));
    }
  }
  // Started records: a done item's is stale (killed just after the commit point): remove only the record. An
  // unfinished item's names the outputs its commit may have renamed before it was killed: remove those (they
  // have final names but no done record), keep the record for the attempt count.
  for (auto& id : record_ids(items_dir(), k_started_suffix)) {
    fs::path path = started_path(id);
    if (done_record(id)) {
      remove_quietly(path);
      continue;
    }
    auto started = read_started(path, id);
    if (!started) {
      report.unreadable_records.push_back(path);
      remove_quietly(path);
      continue;
    }
    for (auto& name : started->committing) {
      fs::path output = run_dir_ / name;
      if (fs::exists(output, ec)) {
        fs::remove_all(output, ec);
        report.outputs.push_back(output);
      }
    }
    if (!failed_record(id)) report.interrupted.push_back(id);
  }
  if (!report.temporaries.empty() || !report.outputs.empty() || !report.unreadable_records.empty())
    spdlog::info("{}: removed leftovers of interrupted items: {} temporaries, {} uncommitted outputs, {} unreadable records",
             run_dir_.string(), report.temporaries.size(), report.outputs.size(), report.unreadable_records.size());
  return report;
}

std::vector<ItemDoneRecord> ItemLedger::done_records() const {
  std::vector<ItemDoneRecord> out;
  for (auto& id : record_ids(items_dir(), k_done_suffix))
    if (auto r = done_record(id)) out.push_back(std::move(*r));
  return out;
}

std::vector<ItemFailedRecord> ItemLedger::failed_records() const {
  std::vector<ItemFailedRecord> out;
  for (auto& id : record_ids(items_dir(), k_failed_suffix))
    if (auto r = failed_record(id)) out.push_back(std::move(*r));
  return out;
}

size_t ItemLedger::write_failed_csv(const fs::path& path) const {
  auto records = failed_records();
  std::string text = "id,reason,error_class,rank\n";
  for (auto& r : records)
    text += fmt::format("{},{},{},{}\n", csv_field(r.id), csv_field(r.reason), item_error_class_name(r.error_class),
                        r.rank);
  file_write_atomic(path, text);
  return records.size();
}

}  // namespace s3e
