#include "app/stage.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

#include "core/errors.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/run_lock.h"
#include "dist/comm_config.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace s3e {

Stage::Stage(std::string name, std::string summary)
    : name_(std::move(name)), summary_(std::move(summary)), options_(name_ + " options") {
  schema_.add_int("run.seed", 1234, "seed of every random choice of the stage", 0, 9.2e18)
      .add_int("run.threads", 1, "intra-op threads per rank (torch, OpenMP); always set explicitly", 1, 256)
      .add_choice("run.log_level", "info", {"trace", "debug", "info", "warn", "error"}, "log level");
  comm_add_config(schema_);
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
      ("run-dir", po::value<std::string>()->default_value("runs/" + name_), "run folder for outputs, logs, config")
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
  config_ = std::make_unique<Config>(config_resolve(schema_, files, assignments));
  fresh_ = vars_.count("fresh") > 0;

  const ProcessContext& ctx = process_context();
  log_init(ctx.rank, ctx.world_size, config_->get_text("run.log_level"));
  run_dir_ = vars_["run-dir"].as<std::string>();
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
    if (!read_only_) file_write_atomic(run_dir_ / (name_ + ".config.ini"), ini);
  }
  return true;
}

}  // namespace s3e
