// Item ledger and item index: commit / fail / abandon, leftovers of processes killed at each commit step (real
// fork + _exit), reruns that skip done items without touching their records, retries, and the virtual index over
// item files that does not depend on the order or the ranks that wrote them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "core/errors.h"
#include "store/item_index.h"
#include "store/item_ledger.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"
#include "store/store_schema.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Every file or folder under `dir` whose name has a temporary's marker (core/file_util.h: ".<name>.tmp.<pid>").
std::vector<std::string> temporaries_under(const fs::path& dir) {
  std::vector<std::string> found;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(e.path().string());
  return found;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

// Runs `body` in a forked child that ends with _exit (never returning into gtest); returns its exit code.
int run_in_child(const std::function<void()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    try {
      body();
    } catch (...) {
      ::_exit(99);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Row r of the concatenated data: latents {r, r + 0.25, r + 0.5, r + 0.75}, labels {r % 2, 1}, video = item number.
const std::vector<int64_t> k_shape = {4};
std::vector<ColumnSpec> item_columns() { return store_columns(k_shape, 2); }

void write_item_rows(const fs::path& path, int64_t item_number, int64_t first_row, int64_t rows) {
  RowFileWriter w(path, k_store_schema, k_store_schema_version, item_columns());
  w.set_attr_int64s("latent_shape", k_shape);
  for (int64_t r = first_row; r < first_row + rows; ++r) {
    float lat[4] = {float(r), r + 0.25f, r + 0.5f, r + 0.75f}, lab[2] = {float(r % 2), 1.0f};
    int64_t frame = r - first_row;
    w.append(k_col_latents, lat, 1);
    w.append(k_col_labels, lab, 1);
    w.append(k_col_video_index, &item_number, 1);
    w.append(k_col_frame_index, &frame, 1);
  }
  w.finalize();
}

ItemIndexSpec index_spec() {
  ItemIndexSpec spec;
  spec.schema = k_store_schema;
  spec.schema_version = k_store_schema_version;
  spec.columns = item_columns();
  spec.add_root_content = [](RowFileWriter& w) {
    w.set_attr_int64s("latent_shape", k_shape);
    w.write_strings(k_ds_attribute_names, {"smile", "glasses"});
  };
  return spec;
}

std::string rows_output(const std::string& id) { return "rows/" + id + ".h5"; }

// The items of the index tests: ids in item order, row counts, first row in the concatenation.
struct TestItem {
  std::string id;
  int64_t rows, first_row;
};
const std::vector<TestItem> k_items = {{"clip_a", 0, 0}, {"clip_b", 5, 0}, {"clip_c", 7, 5}};

void run_item(const ItemLedger& ledger, size_t item, int rank) {
  ItemWork w = ledger.begin(k_items[item].id, rank);
  write_item_rows(w.path_for(rows_output(k_items[item].id)), int64_t(item), k_items[item].first_row,
                  k_items[item].rows);
  w.commit({{"encode", 0.5}}, {{"rows", k_items[item].rows}});
}

}  // namespace

TEST(ItemLedger, IdsAreValidatedWithClearErrors) {
  for (std::string id : std::vector<std::string>{"a", "clip_0007", "id10001.x3Hn-9.00001", std::string(k_item_id_max_length, 'x')})
    EXPECT_TRUE(item_id_valid(id)) << id;
  for (std::string id : std::vector<std::string>{"", ".hidden", "..", "a/b", "a b", "tab\tx", "caf\xc3\xa9", "semi;colon", "a\\b",
                         std::string(k_item_id_max_length + 1, 'x')}) {
    EXPECT_FALSE(item_id_valid(id)) << id;
    EXPECT_THROW(item_id_check(id), DataError) << id;
  }
  std::string m = message_of([] { item_id_check("clip 7"); });
  EXPECT_NE(m.find("'clip 7'"), std::string::npos) << m;
  EXPECT_NE(m.find("position 4"), std::string::npos) << m;
  m = message_of([] { item_id_check(".x"); });
  EXPECT_NE(m.find("starts with '.'"), std::string::npos) << m;
  // Every entry point that takes an id rejects it before touching a file.
  test::TempDir dir("ledger_ids");
  ItemLedger ledger(dir.path(), {"out"});
  EXPECT_THROW(ledger.status("../escape"), DataError);
  EXPECT_THROW(ledger.begin("a/b", 0), DataError);
  EXPECT_THROW(ledger.should_run("", true), DataError);
  EXPECT_FALSE(fs::exists(ledger.items_dir()));
}

TEST(ItemLedger, CommitRenamesOutputsThenWritesTheDoneRecord) {
  test::TempDir dir("ledger_commit");
  ItemLedger ledger(dir.path(), {"faces", "crops"});
  EXPECT_EQ(ledger.status("v1"), ItemStatus::pending);
  EXPECT_TRUE(ledger.should_run("v1", false));
  ItemWork w = ledger.begin("v1", 3);
  EXPECT_EQ(w.attempt(), 1);
  EXPECT_TRUE(fs::exists(ledger.started_path("v1")));
  fs::path a = w.path_for("faces/v1.bin"), b = w.path_for("crops/deep/v1.txt");
  EXPECT_EQ(w.path_for("faces/v1.bin"), a);  // same name, same temporary
  EXPECT_EQ(a.parent_path(), dir.path() / "faces");
  EXPECT_EQ(a.filename().string().rfind(".v1.bin.tmp.", 0), 0u) << a;
  write_text(a, std::string(100000, 'x'));
  write_text(b, "hello\n");
  EXPECT_FALSE(fs::exists(dir / "faces/v1.bin"));  // nothing under a final name before the commit
  EXPECT_EQ(ledger.status("v1"), ItemStatus::pending);
  const ItemDoneRecord& r = w.commit({{"detect", 1.25}}, {{"frames", 42}});

  EXPECT_EQ(test::read_file(dir / "faces/v1.bin"), std::string(100000, 'x'));
  EXPECT_EQ(test::read_file(dir / "crops/deep/v1.txt"), "hello\n");
  EXPECT_TRUE(temporaries_under(dir.path()).empty());
  EXPECT_FALSE(fs::exists(ledger.started_path("v1")));
  EXPECT_EQ(ledger.status("v1"), ItemStatus::done);
  EXPECT_FALSE(ledger.should_run("v1", false));
  EXPECT_FALSE(ledger.should_run("v1", true));

  // The record on disk: outputs sorted by name, relative to the run folder, with sizes and SHA-256 that match
  // the files (sha256sum computes the reference).
  auto on_disk = ledger.done_record("v1");
  ASSERT_TRUE(on_disk);
  EXPECT_EQ(test::read_file(ledger.done_path("v1")), item_done_record_text(r));
  ASSERT_EQ(on_disk->outputs.size(), 2u);
  EXPECT_EQ(on_disk->outputs[0].name, "crops/deep/v1.txt");
  EXPECT_EQ(on_disk->outputs[1].name, "faces/v1.bin");
  for (auto& o : on_disk->outputs) {
    EXPECT_EQ(o.bytes, int64_t(fs::file_size(dir / o.name))) << o.name;
    EXPECT_EQ(o.sha256, test::sha256_of(dir / o.name)) << o.name;
  }
  EXPECT_EQ(on_disk->rank, 3);
  EXPECT_EQ(on_disk->attempt, 1);
  EXPECT_FALSE(on_disk->host.empty());
  EXPECT_EQ(on_disk->timings_s.at("detect"), 1.25);
  EXPECT_GE(on_disk->timings_s.at("total"), 0.0);
  EXPECT_EQ(on_disk->info.at("frames"), 42);
  EXPECT_EQ(on_disk->finished_utc.size(), 20u);
  auto j = nlohmann::json::parse(test::read_file(ledger.done_path("v1")));
  EXPECT_EQ(j.at("format"), "s3editor.item_done");
  EXPECT_EQ(j.at("outputs")[1].at("sha256"), test::sha256_of(dir / "faces/v1.bin"));
  EXPECT_THROW(w.commit(), std::logic_error);  // once only
  EXPECT_EQ(ledger.done_records().size(), 1u);
}

TEST(ItemLedger, OutputNamesAreConfinedToTheOutputFolders) {
  test::TempDir dir("ledger_names");
  ItemLedger ledger(dir.path(), {"faces"});
  ItemWork w = ledger.begin("v", 0);
  for (std::string bad : std::vector<std::string>{"/abs/x", "faces/../x", "faces/./x", "faces//x", "faces/.hidden", "other/x", "faces",
                          "items/v.done.json", "facesx/y"})
    EXPECT_THROW(w.path_for(bad), std::invalid_argument) << bad;
  EXPECT_THROW(ItemLedger(dir.path(), {"../up"}), std::invalid_argument);
  EXPECT_THROW(ItemLedger(dir.path(), {"items"}), std::invalid_argument);
  // A name asked for but never written is a bug of the stage: the commit refuses and the item stays pending.
  w.path_for("faces/never_written.h5");
  EXPECT_THROW(w.commit(), std::logic_error);
  EXPECT_EQ(ledger.status("v"), ItemStatus::pending);
  // A ledger without output folders reads records but begins nothing.
  EXPECT_THROW(ItemLedger(dir.path()).begin("w", 0), std::logic_error);
}

TEST(ItemLedger, FailRemovesTemporariesAndRecordsTheReason) {
  test::TempDir dir("ledger_fail");
  ItemLedger ledger(dir.path(), {"out"});
  {
    ItemWork w = ledger.begin("bad_video", 2);
    write_text(w.path_for("out/bad_video.h5"), "partial");
    w.fail("bad_video.mp4: frame 17 cannot be decoded, \"moov\" atom missing", ItemErrorClass::data);
    EXPECT_THROW(w.commit(), std::logic_error);
  }
  {
    ItemWork w = ledger.begin("odd", 0);
    w.fail(item_error_class_name(item_error_class_of(std::runtime_error("x"))), ItemErrorClass::bug);
  }
  run_item(ItemLedger(dir.path(), {"rows"}), 1, 1);  // a done item is not listed as failed
  EXPECT_TRUE(temporaries_under(dir.path()).empty());
  EXPECT_FALSE(fs::exists(dir / "out/bad_video.h5"));
  EXPECT_FALSE(fs::exists(ledger.started_path("bad_video")));
  EXPECT_EQ(ledger.status("bad_video"), ItemStatus::failed);
  EXPECT_FALSE(ledger.should_run("bad_video", false));
  EXPECT_TRUE(ledger.should_run("bad_video", true));
  auto r = ledger.failed_record("bad_video");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_class, ItemErrorClass::data);
  EXPECT_EQ(r->rank, 2);
  EXPECT_EQ(r->attempt, 1);
  EXPECT_NE(r->reason.find("frame 17"), std::string::npos);
  auto failed = ledger.failed_records();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].id, "bad_video");
  EXPECT_EQ(failed[1].id, "odd");
  EXPECT_EQ(ledger.write_failed_csv(dir / "failed.csv"), 2u);
  EXPECT_EQ(test::read_file(dir / "failed.csv"),
            "id,reason,error_class,rank\n"
            "bad_video,\"bad_video.mp4: frame 17 cannot be decoded, \"\"moov\"\" atom missing\",data,2\n"
            "odd,bug,bug,0\n");
  EXPECT_EQ(item_error_class_of(DataError("x")), ItemErrorClass::data);
  EXPECT_EQ(item_error_class_of(UsageError("x")), ItemErrorClass::usage);
  EXPECT_EQ(item_error_class_of(TransientError("x")), ItemErrorClass::transient);
  EXPECT_EQ(item_error_class_parse("transient"), ItemErrorClass::transient);
  EXPECT_THROW(item_error_class_parse("oops"), DataError);
}

TEST(ItemLedger, AbandonedItemLeavesNoFileAndStaysPending) {
  test::TempDir dir("ledger_abandon");
  ItemLedger ledger(dir.path(), {"out"});
  {
    ItemWork w = ledger.begin("v", 0);
    write_text(w.path_for("out/v.bin"), "half");
    // A row file still being written when the item is abandoned (its own temporary inside ours).
    RowFileWriter rows(w.path_for("out/v.h5"), k_store_schema, 1, item_columns());
    ItemWork moved = std::move(w);  // the transaction moves; only one owner cleans up
    ASSERT_FALSE(temporaries_under(dir.path()).empty());
  }  // destroyed without commit: an exception or a stop signal
  EXPECT_TRUE(temporaries_under(dir.path()).empty());
  EXPECT_FALSE(fs::exists(dir / "out/v.bin"));
  EXPECT_EQ(ledger.status("v"), ItemStatus::pending);
  EXPECT_TRUE(ledger.should_run("v", false));
  // The next attempt knows it is the second.
  ItemWork again = ledger.begin("v", 1);
  EXPECT_EQ(again.attempt(), 2);
  write_text(again.path_for("out/v.bin"), "whole");
  EXPECT_EQ(again.commit().attempt, 2);
  EXPECT_EQ(test::read_file(dir / "out/v.bin"), "whole");
}

TEST(ItemLedger, RetryRemovesTheFailedRecordWhenTheItemStarts) {
  test::TempDir dir("ledger_retry");
  ItemLedger ledger(dir.path(), {"out"});
  ledger.begin("v", 0).fail("decoder crashed", ItemErrorClass::transient);
  ASSERT_EQ(ledger.status("v"), ItemStatus::failed);
  ASSERT_TRUE(ledger.should_run("v", /*retry_failed=*/true));
  ItemWork w = ledger.begin("v", 1);
  // Started: no longer failed (a kill now leaves it pending), and not listed in failed.csv.
  EXPECT_FALSE(fs::exists(ledger.failed_path("v")));
  EXPECT_EQ(ledger.status("v"), ItemStatus::pending);
  EXPECT_EQ(w.attempt(), 2);
  write_text(w.path_for("out/v.bin"), "ok");
  w.commit();
  EXPECT_EQ(ledger.status("v"), ItemStatus::done);
  EXPECT_EQ(ledger.done_record("v")->attempt, 2);
  EXPECT_TRUE(ledger.failed_records().empty());
  EXPECT_EQ(ledger.write_failed_csv(dir / "failed.csv"), 0u);
  EXPECT_EQ(test::read_file(dir / "failed.csv"), "id,reason,error_class,rank\n");
}

TEST(ItemLedger, RerunSkipsDoneItemsAndNeverRewritesTheirRecords) {
  test::TempDir dir("ledger_rerun");
  std::vector<std::string> ids = {"a", "b", "c"};
  auto run = [&](int rank, bool retry) {
    ItemLedger ledger(dir.path(), {"out"});
    ledger.cleanup_leftovers();
    int ran = 0;
    for (auto& id : ids) {
      if (!ledger.should_run(id, retry)) continue;
      ++ran;
      ItemWork w = ledger.begin(id, rank);
      if (id == "b" && !retry) {
        w.fail("b is broken", ItemErrorClass::data);
        continue;
      }
      write_text(w.path_for("out/" + id + ".txt"), "content of " + id);
      w.commit();
    }
    return ran;
  };
  EXPECT_EQ(run(0, false), 3);
  ItemLedger ledger(dir.path(), {"out"});
  std::string a_record = test::read_file(ledger.done_path("a")), c_record = test::read_file(ledger.done_path("c"));
  auto a_time = fs::last_write_time(ledger.done_path("a"));
  EXPECT_EQ(run(5, false), 0);  // b failed: not retried without asking
  EXPECT_EQ(run(1, true), 1);   // only b
  EXPECT_EQ(run(2, true), 0);
  EXPECT_EQ(test::read_file(ledger.done_path("a")), a_record);
  EXPECT_EQ(test::read_file(ledger.done_path("c")), c_record);
  EXPECT_EQ(fs::last_write_time(ledger.done_path("a")), a_time);
  EXPECT_EQ(ledger.done_record("b")->rank, 1);
  EXPECT_EQ(ledger.done_record("b")->attempt, 2);
  EXPECT_THROW(ledger.begin("a", 0), std::logic_error);
  EXPECT_EQ(test::read_file(ledger.done_path("a")), a_record);
  EXPECT_TRUE(temporaries_under(dir.path()).empty());
}

TEST(ItemLedger, CleanupRemovesLeftoversOfKilledProcesses) {
  test::TempDir dir("ledger_crash");
  const std::vector<std::string> dirs = {"out"};
  ItemLedger ledger(dir.path(), dirs);
  // A finished item whose outputs must survive every cleanup.
  {
    ItemWork w = ledger.begin("done_item", 0);
    write_text(w.path_for("out/done_item.txt"), "keep me");
    w.commit();
  }
  std::string done_text = test::read_file(ledger.done_path("done_item"));
  auto kill_at = [&](const std::string& id, const char* point) {
    static std::string target;
    target = point;
    return run_in_child([&] {
      item_ledger_set_commit_hook([](const char* p) {
        if (target == p) ::_exit(9);  // SIGKILL-like: no destructor, no cleanup
      });
      ItemLedger child(dir.path(), dirs);
      ItemWork w = child.begin(id, 1);
      write_text(w.path_for("out/" + id + ".txt"), "output of " + id);
      write_text(w.path_for("out/sub/" + id + ".txt"), "second output of " + id);
      w.commit();
    });
  };
  // Killed while writing: a temporary of the dead pid, and a RowFileWriter's nested temporary.
  EXPECT_EQ(run_in_child([&] {
              ItemLedger child(dir.path(), dirs);
              ItemWork w = child.begin("mid_write", 1);
              write_text(w.path_for("out/mid_write.txt"), "half");
              RowFileWriter rows(w.path_for("out/mid_write.h5"), k_store_schema, 1, item_columns());
              ::_exit(9);
            }),
            9);
  EXPECT_EQ(kill_at("before_rename", "intent_written"), 9);
  EXPECT_EQ(kill_at("before_done", "outputs_renamed"), 9);
  // The state a kill between the renames and the done record leaves: outputs under final names, no record.
  EXPECT_TRUE(fs::exists(dir / "out/before_done.txt"));
  EXPECT_TRUE(fs::exists(dir / "out/sub/before_done.txt"));
  EXPECT_FALSE(fs::exists(ledger.done_path("before_done")));
  EXPECT_GE(temporaries_under(dir.path()).size(), 4u);  // mid_write x2, before_rename x2
  // A done record cut short by something other than this code (e.g. a copy) is not a commit.
  write_text(ledger.done_path("torn"), "{\"format\": \"s3editor.item_do");
  for (auto id : {"mid_write", "before_rename", "before_done", "torn"})
    EXPECT_EQ(ledger.status(id), ItemStatus::pending) << id;

  ItemCleanupReport report = ledger.cleanup_leftovers();
  EXPECT_TRUE(temporaries_under(dir.path()).empty()) << testing::PrintToString(temporaries_under(dir.path()));
  EXPECT_GE(report.temporaries.size(), 4u);
  EXPECT_FALSE(fs::exists(dir / "out/before_done.txt"));
  EXPECT_FALSE(fs::exists(dir / "out/sub/before_done.txt"));
  EXPECT_EQ(report.outputs.size(), 2u);
  EXPECT_EQ(report.interrupted, (std::vector<std::string>{"before_done", "before_rename", "mid_write"}));
  ASSERT_EQ(report.unreadable_records.size(), 1u);
  EXPECT_FALSE(fs::exists(ledger.done_path("torn")));
  EXPECT_EQ(test::read_file(dir / "out/done_item.txt"), "keep me");
  EXPECT_EQ(test::read_file(ledger.done_path("done_item")), done_text);
  // Only the done item and the killed items' started records (attempt counters) remain.
  std::vector<std::string> left;
  for (auto& e : fs::recursive_directory_iterator(dir.path()))
    if (e.is_regular_file()) left.push_back(fs::relative(e.path(), dir.path()).string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"items/before_done.started.json", "items/before_rename.started.json",
                                            "items/done_item.done.json", "items/mid_write.started.json",
                                            "out/done_item.txt"}));
  // The rerun completes them (second attempts) and a further cleanup finds nothing.
  for (auto id : {"mid_write", "before_rename", "before_done"}) {
    ASSERT_TRUE(ledger.should_run(id, false));
    ItemWork w = ledger.begin(id, 0);
    EXPECT_EQ(w.attempt(), 2) << id;
    write_text(w.path_for(std::string("out/") + id + ".txt"), "output");
    w.commit();
  }
  report = ledger.cleanup_leftovers();
  EXPECT_TRUE(report.temporaries.empty() && report.outputs.empty() && report.interrupted.empty());
  EXPECT_EQ(test::read_file(dir / "out/done_item.txt"), "keep me");
}

TEST(ItemLedger, KilledAfterTheDoneRecordIsDone) {
  test::TempDir dir("ledger_after_commit");
  ItemLedger ledger(dir.path(), {"out"});
  {
    ItemWork w = ledger.begin("v", 0);
    write_text(w.path_for("out/v.txt"), "x");
    w.commit();
  }
  // A kill just after the commit point leaves the started record next to the done record.
  write_text(ledger.started_path("v"),
             R"({"attempt":1,"committing":["out/v.txt"],"format":"s3editor.item_started","format_version":1,)"
             R"("host":"h","id":"v","pid":1,"rank":0,"started_utc":"2026-01-01T00:00:00Z"})");
  EXPECT_EQ(ledger.status("v"), ItemStatus::done);
  auto report = ledger.cleanup_leftovers();
  EXPECT_TRUE(report.outputs.empty());
  EXPECT_EQ(test::read_file(dir / "out/v.txt"), "x");  // the done item's output is never removed
  EXPECT_FALSE(fs::exists(ledger.started_path("v")));
}

TEST(ItemLedger, DoneRecordDependsOnlyOnTheItemExceptRunFields) {
  test::TempDir one("ledger_ranks1"), four("ledger_ranks4");
  ItemLedger a(one.path(), {"rows"}), b(four.path(), {"rows"});
  for (size_t i = 0; i < k_items.size(); ++i) run_item(a, i, 0);
  for (size_t i : {2, 0, 1}) run_item(b, i, int(i) + 1);  // another order, other ranks
  auto strip = [](const fs::path& p) {
    auto j = nlohmann::json::parse(test::read_file(p));
    for (auto key : {"rank", "host", "timings_s", "finished_utc"}) {
      EXPECT_TRUE(j.contains(key)) << key;
      j.erase(key);
    }
    return j;
  };
  for (auto& item : k_items) {
    EXPECT_EQ(strip(a.done_path(item.id)), strip(b.done_path(item.id))) << item.id;
    EXPECT_NE(a.done_record(item.id)->rank, b.done_record(item.id)->rank);
  }
}

TEST(ItemIndex, VirtualIndexOverItemFilesReadsInItemOrder) {
  test::TempDir dir("item_index");
  ItemLedger ledger(dir.path(), {"rows"});
  for (size_t i = 0; i < k_items.size(); ++i) run_item(ledger, i, 0);
  fs::path index = dir / "latents.h5";
  std::vector<std::string> ids;
  for (auto& item : k_items) ids.push_back(item.id);
  EXPECT_EQ(item_index_write_from_ledger(index, index_spec(), ledger, ids, rows_output), 12);
  EXPECT_TRUE(temporaries_under(dir.path()).empty());
  // Open from elsewhere: item files are named relative to the index.
  auto cwd = fs::current_path();
  fs::current_path("/");
  LatentStore s(index);
  fs::current_path(cwd);
  ASSERT_EQ(s.size(), 12);
  EXPECT_TRUE(s.is_virtual(k_col_latents));
  EXPECT_EQ(s.attribute_names(), (std::vector<std::string>{"smile", "glasses"}));
  std::vector<float> latents(12 * 4), labels(12 * 2);
  std::vector<int64_t> video(12), frame(12);
  s.read_range_f32(k_col_latents, 0, 12, latents.data());
  s.read_range_f32(k_col_labels, 0, 12, labels.data());
  s.read_range_i64(k_col_video_index, 0, 12, video.data());
  s.read_range_i64(k_col_frame_index, 0, 12, frame.data());
  // The concatenation of the item files in item order: clip_a (0 rows), clip_b (rows 0..4), clip_c (rows 5..11).
  for (int64_t r = 0; r < 12; ++r) {
    EXPECT_EQ(latents[r * 4], float(r)) << r;
    EXPECT_EQ(latents[r * 4 + 3], r + 0.75f) << r;
    EXPECT_EQ(labels[r * 2], float(r % 2)) << r;
    EXPECT_EQ(video[r], r < 5 ? 1 : 2) << r;
    EXPECT_EQ(frame[r], r < 5 ? r : r - 5) << r;
  }
  EXPECT_EQ(h5_attr_read_int64s(s.file(), "item_rows", index.string()), (std::vector<int64_t>{0, 5, 7}));
  EXPECT_EQ(s.read_strings("item_ids"), ids);
  // Random reads across the item boundary.
  std::vector<float> picked(3 * 4);
  s.read_latents({11, 4, 5}, picked.data());
  EXPECT_EQ(picked[0], 11.0f);
  EXPECT_EQ(picked[4], 4.0f);
  EXPECT_EQ(picked[8], 5.0f);
  // No items at all is an empty store, not an error.
  EXPECT_EQ(item_index_write(dir / "empty.h5", index_spec(), {}), 0);
  EXPECT_EQ(LatentStore(dir / "empty.h5").size(), 0);
}

TEST(ItemIndex, IndexIsIdenticalWhateverOrderAndRanksWroteTheItems) {
  test::TempDir one("item_index_1rank"), many("item_index_3ranks");
  ItemLedger a(one.path(), {"rows"}), b(many.path(), {"rows"});
  for (size_t i = 0; i < k_items.size(); ++i) run_item(a, i, 0);
  for (size_t i : {2, 1, 0}) run_item(b, i, int(i));
  std::vector<std::string> ids;
  for (auto& item : k_items) ids.push_back(item.id);
  item_index_write_from_ledger(one / "latents.h5", index_spec(), a, ids, rows_output);
  item_index_write_from_ledger(many / "latents.h5", index_spec(), b, ids, rows_output);
  EXPECT_EQ(test::sha256_of(one / "latents.h5"), test::sha256_of(many / "latents.h5"));
  for (auto& item : k_items)
    EXPECT_EQ(test::sha256_of(one / rows_output(item.id)), test::sha256_of(many / rows_output(item.id))) << item.id;
  // And rebuilding it is idempotent.
  std::string before = test::read_file(one / "latents.h5");
  item_index_write_from_ledger(one / "latents.h5", index_spec(), a, ids, rows_output);
  EXPECT_EQ(test::read_file(one / "latents.h5"), before);
}

TEST(ItemIndex, RejectsItemsThatAreNotDoneOrDoNotMatch) {
  test::TempDir dir("item_index_bad");
  ItemLedger ledger(dir.path(), {"rows"});
  run_item(ledger, 1, 0);
  ledger.begin("clip_c", 0).fail("broken", ItemErrorClass::data);
  std::string m = message_of([&] {
    item_index_write_from_ledger(dir / "i.h5", index_spec(), ledger, {"clip_b", "clip_c"}, rows_output);
  });
  EXPECT_NE(m.find("clip_c is failed"), std::string::npos) << m;
  m = message_of([&] {
    item_index_write_from_ledger(dir / "i.h5", index_spec(), ledger, {"clip_b"},
                                 [](const std::string& id) { return "rows/" + id + ".other.h5"; });
  });
  EXPECT_NE(m.find("does not list output 'rows/clip_b.other.h5'"), std::string::npos) << m;
  // An item file of another shape: named, with the column and both shapes.
  {
    RowFileWriter w(dir / "rows/wide.h5", k_store_schema, 1, store_columns({8}, 2));
    w.finalize();
  }
  m = message_of([&] { item_index_write(dir / "i.h5", index_spec(), {{"wide", dir / "rows/wide.h5"}}); });
  EXPECT_NE(m.find("wide.h5: dataset 'latents' has shape 0x8, expected 0x4"), std::string::npos) << m;
  m = message_of([&] { item_index_write(dir / "i.h5", index_spec(), {{"gone", dir / "rows/gone.h5"}}); });
  EXPECT_NE(m.find("gone.h5: no such file"), std::string::npos) << m;
  EXPECT_THROW(item_index_write(dir / "i.h5", index_spec(), {{"wide", dir / "rows/wide.h5"}}), DataError);
  EXPECT_FALSE(fs::exists(dir / "i.h5"));
}
