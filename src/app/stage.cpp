#include "app/stage.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <set>

#include "core/command_registry.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/run_lock.h"
#include "core/stop_signal.h"
#include "dist/comm_config.h"
#include "pipeline/run_manifest.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace s3e {
namespace {

// Keys of every other subcommand: a shared INI file may hold them (config_resolve skips them in files).
std::set<std::string> other_stages_keys() {
  std::set<std::string> keys;
  for (auto& command : command_list()) {
    if (!command.add_config) continue;
    ConfigSchema schema;
    command.add_config(schema);
    for (auto& k : schema.keys()) keys.insert(k.name);
  }
  return keys;
}

}  // namespace

Stage::Stage(std::string name, std::string summary)
    : name_(std::move(name)), summary_(std::move(summary)), options_(name_ + " options") {
  schema_.add_int("run.seed", 1234, "seed of every random choice of the stage", 0, 9.2e18)
      .add_int("run.threads", 1, "intra-op threads per rank (torch, OpenMP); always set explicitly", 1, 256)
      .add_choice("run.log_level", "info", {"trace", "debug", "info", "warn", "error"}, "log level")
      .add_text("run.root", "runs", "where run folders go when --run-dir is not given: <run.root>/<subcommand>");
  comm_add_config(schema_);
  // One [io] vocabulary for every stage, so that one INI file can name every file of a run.
  schema_.add_text("io.store", "", "latent store (.h5): written by synth / import-npy, read by train-classifier, "
                                   "train, edit, eval-latent")
      .add_text("io.truth", "", "ground truth of a synthetic store (default: the store's truth_file)")
      .add_text("io.classifier", "", "latent classifier (.pt): written by train-classifier, read by train (and by "
                                     "edit and eval-latent for editors that predate stored normalisation)")
      .add_text("io.judge", "", "a second classifier (another seed) that judges edits where there is no ground truth")
      .add_text("io.editor", "", "editor folder: written by train, read by edit")
      .add_text("io.edited", "", "edited latent store: written by edit, judged by eval-latent")
      .add_text("io.metrics", "", "metrics JSON written by eval-latent (CSV next to it)");
}

Stage::~Stage() {
  if (!manifest_ || std::uncaught_exceptions() == 0) return;  // finish() was not called and nothing failed
  // Unwinding from an exception (main prints it): record the run as failed, or stopped for a requeue. Never throw.
  try {
    const bool stopped = stop_requested();
    manifest_->set_config(*config_);
    // The exception's exit code is not known here (main() maps it): -1 for a failure.
    manifest_->write(stopped ? "stopped" : "failed", stopped ? int(ExitCode::temporary) : -1);
  } catch (...) {
  }
}

void Stage::add_io(const std::string& flag, const std::string& key, Io direction, const std::string& help) {
  options_.add_options()(flag.c_str(), po::value<std::string>(), (help + " (config: io." + key + ")").c_str());
  io_.push_back({flag, key, direction});
}

void Stage::add_alias(const std::string& flag, const std::string& key, const std::string& help, bool repeatable) {
  const std::string text = help + " (config: " + key + ")";
  if (repeatable)
    options_.add_options()(flag.c_str(), po::value<std::vector<std::string>>()->composing(), text.c_str());
  else
    options_.add_options()(flag.c_str(), po::value<std::string>(), text.c_str());
  aliases_.emplace_back(flag, key);
}

void Stage::add_switch(const std::string& flag, const std::string& key, const std::string& help) {
  options_.add_options()(flag.c_str(), (help + " (config: " + key + " = true)").c_str());
  switches_.emplace_back(flag, key);
}

void Stage::add_item_run_options() {
  add_alias("shard", "run.shard", "run only shard I/N of the items (I from 0: items I, I+N, ...), as array task I "
                                  "of N, with a --run-dir of its own (e.g. <run>/tasks/I)");
  add_switch("merge-tasks", "run.merge_tasks", "gather the items of <run-dir>/tasks/*/ (a job array's shards) "
                                               "into this run folder, then write the index over all of them");
}

std::string Stage::io(const std::string& key) const { return config_->get_text("io." + key); }

std::string Stage::io_required(const std::string& key) const {
  std::string value = io(key);
  if (!value.empty()) return value;
  std::string flag;
  for (auto& d : io_)
    if (d.key == key) flag = d.flag;
  throw UsageError(fmt::format("s3editor {}: give --{} or io.{} in a config file (see s3editor {} --help)", name_,
                               flag.empty() ? key : flag, key, name_));
}

fs::path Stage::io_output(const std::string& key, const std::string& default_name) {
  std::string value = io(key);
  if (!value.empty()) return value;
  fs::path path = run_dir_ / default_name;
  config_->set("io." + key, path.string(), "default (run folder)");
  return path;
}

int Stage::finish(int exit_code) {
  if (manifest_) {
    manifest_->set_config(*config_);
    for (auto& d : io_)
      if (d.direction == Io::output && !io(d.key).empty()) manifest_->add_output("io." + d.key, io(d.key));
    manifest_->write(exit_code == 0 ? "completed" : "items failed", exit_code);
    manifest_.reset();
  }
  return exit_code;
}

void Stage::add_positional(const std::string& name, int max_count, const std::string& help) {
  options_.add_options()(name.c_str(), po::value<std::vector<std::string>>(), help.c_str());
  positional_.add(name.c_str(), max_count);
  positional_help_.emplace_back(name, help);
}

std::vector<std::string> Stage::positional(const std::string& name) const {
  if (!vars_.count(name)) return {};
  return vars_[name].as<std::vector<std::string>>();
}

fs::path Stage::output_path(const std::string& option, const std::string& default_name) const {
  if (vars_.count(option) && !vars_[option].as<std::string>().empty()) return vars_[option].as<std::string>();
  return run_dir_ / default_name;
}

bool Stage::parse(int argc, char** argv) {
  po::options_description common("common options");
  common.add_options()
      ("help,h", "show this help, with every config key of this subcommand")
      ("config", po::value<std::vector<std::string>>()->composing(), "INI config file (repeatable; later files win)")
      ("set", po::value<std::vector<std::string>>()->composing(), "override one config key: section.key=value")
      ("run-dir", po::value<std::string>()->default_value(""), "run folder for outputs, logs, config (default "
                                                                  "<run.root>/<subcommand>, run.root = runs)")
      ("seed", po::value<std::string>(), "same as --set run.seed=N")
      ("threads", po::value<std::string>(), "same as --set run.threads=N")
      ("log-level", po::value<std::string>(), "same as --set run.log_level=L")
      ("fresh", "do not resume: redo this stage's work even where the run folder holds finished results");
  po::options_description all;
  all.add(options_).add(common);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional_).run(), vars_);
    // Required options are checked after --help, so that --help always works.
    if (!vars_.count("help")) po::notify(vars_);
  } catch (const po::error& e) {
    throw UsageError(fmt::format("s3editor {}: {} (see s3editor {} --help)", name_, e.what(), name_));
  }
  if (vars_.count("help")) {
    if (process_context().is_root()) {
      std::cout << "usage: s3editor " << name_ << " [options]";
      for (auto& [n, h] : positional_help_) std::cout << " <" << n << ">";
      std::cout << "\n\n" << summary_ << "\n\n" << options_ << "\n" << common
                << "\nconfig keys (set in an INI file under [section], or with --set section.key=value):\n"
                << schema_.describe();
    }
    return false;
  }

  std::vector<std::string> files;
  if (vars_.count("config")) files = vars_["config"].as<std::vector<std::string>>();
  std::vector<std::pair<std::string, std::string>> assignments;
  if (vars_.count("set"))
    for (auto& s : vars_["set"].as<std::vector<std::string>>()) assignments.push_back(config_parse_assignment(s));
  if (vars_.count("seed")) assignments.emplace_back("run.seed", vars_["seed"].as<std::string>());
  if (vars_.count("threads")) assignments.emplace_back("run.threads", vars_["threads"].as<std::string>());
  if (vars_.count("log-level")) assignments.emplace_back("run.log_level", vars_["log-level"].as<std::string>());
  for (auto& d : io_)
    if (vars_.count(d.flag)) assignments.emplace_back("io." + d.key, vars_[d.flag].as<std::string>());
  for (auto& [flag, key] : aliases_) {
    if (!vars_.count(flag)) continue;
    const auto& value = vars_[flag].value();
    if (auto* one = boost::any_cast<std::string>(&value)) {
      assignments.emplace_back(key, *one);
    } else {
      std::string joined;
      for (auto& v : vars_[flag].as<std::vector<std::string>>()) joined += (joined.empty() ? "" : ", ") + v;
      assignments.emplace_back(key, joined);
    }
  }
  for (auto& [flag, key] : switches_)
    if (vars_.count(flag)) assignments.emplace_back(key, "true");
  config_ = std::make_unique<Config>(config_resolve(schema_, files, assignments, other_stages_keys()));
  fresh_ = vars_.count("fresh") > 0;

  const ProcessContext& ctx = process_context();
  log_init(ctx.rank, ctx.world_size, config_->get_text("run.log_level"));
  run_dir_ = vars_["run-dir"].as<std::string>();
  if (run_dir_.empty()) run_dir_ = fs::path(config_->get_text("run.root")) / name_;
  comm_ = comm_from_config(*config_);
  // Rank 0 creates the run folder and takes its lock (one run per folder, run_lock.h); the collective below keeps
  // other ranks from opening log files in a missing folder and makes every rank fail when rank 0 could not.
  std::string create_error;
  if (ctx.is_root() && !read_only_) {
    try {
      file_ensure_writable_dir(run_dir_ / "logs");
      lock_ = std::make_unique<RunLock>(run_dir_, name_);
    } catch (const Error& e) {
      create_error = e.what();
    }
  }
  int64_t any_failed = comm_allreduce_int64(*comm_, create_error.empty() ? 0 : 1, ReduceOp::max);
  if (any_failed) throw UsageError(create_error.empty() ? "rank 0 could not create or lock the run folder " +
                                                              run_dir_.string() + " (rank 0's log says why)"
                                                        : create_error);
  if (!read_only_) log_add_file((run_dir_ / "logs" / fmt::format("{}.rank{:05d}.log", name_, ctx.rank)).string());

  std::string threads_text = std::to_string(threads());
  ::setenv("OMP_NUM_THREADS", threads_text.c_str(), 1);
  if (ctx.is_root()) {
    std::string ini = config_->to_ini();
    auto level = read_only_ ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "s3editor {} on {} rank(s), {} node(s); run folder {}", name_, ctx.world_size, ctx.node_count,
                run_dir_.string());
    spdlog::log(level, "effective config:\n{}", ini);
    if (!read_only_) {
      file_write_atomic(run_dir_ / (name_ + ".config.ini"), ini);
      // Inputs are hashed before the stage runs, so the manifest names what it read, not what is there later.
      manifest_ = std::make_unique<RunManifest>(name_, run_dir_, ctx.world_size);
      for (auto& d : io_)
        if (d.direction == Io::input && !io(d.key).empty()) manifest_->add_input("io." + d.key, io(d.key));
    }
  }
  return true;
}

}  // namespace s3e
