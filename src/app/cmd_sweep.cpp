// cmd_sweep.cpp — `s3editor sweep --grid FILE`: parses its options and runs pipeline_sweep_run (pipeline/sweep.h),
// with the stage runner: each stage of a point runs in-process (command_find) on this job's ranks, or, when the
// sweep is one process and the grid asks for several ranks, as a subprocess under the launcher
// (jobs/mpi_launch.sh N ...). Under mpirun/srun the points always run in-process: never a nested mpirun.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <sstream>
#include <thread>

#include "app/stage.h"
#include "core/command_registry.h"
#include "core/errors.h"
#include "core/stop_signal.h"
#include "pipeline/sweep.h"
#include "pipeline/sweep_grid.h"

extern char** environ;

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace s3e {
namespace {

// The environment as the program started, before MPI_Init: a sweep of one process is an MPI singleton, whose
// OMPI_*/PMIX_* variables would make the mpirun it launches fail (or join the singleton's job). Taken during static
// initialisation, which runs before main().
std::vector<std::string>& start_environment() {
  static std::vector<std::string> env;
  return env;
}
const bool g_environment_taken = [] {
  for (char** e = environ; e && *e; ++e) start_environment().push_back(*e);
  return true;
}();

// Started by mpirun or srun (even with one rank): then stages never go through a launcher of their own.
bool started_by_launcher() {
  for (auto& e : start_environment())
    for (const char* name : {"OMPI_COMM_WORLD_SIZE=", "PMIX_RANK=", "PMI_RANK=", "PMI_SIZE="})
      if (e.rfind(name, 0) == 0) return true;
  return false;
}

// A subcommand of this binary in this process, on this job's ranks. The stage sets up logging for its own run
// folder; the sweep's logger comes back afterwards, however the stage ends.
int run_in_process(const std::string& stage, const std::vector<std::string>& args) {
  const CommandInfo* command = command_find(stage);
  if (!command) throw UsageError("sweep: no subcommand " + stage + " in this s3editor");
  std::vector<std::string> words{stage};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  struct RestoreLogger {
    std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
    ~RestoreLogger() {
      spdlog::default_logger()->flush();
      spdlog::set_default_logger(logger);
    }
  } restore;
  return command->run(static_cast<int>(words.size()), argv.data());
}

// The launcher's words with {ranks} filled in: the grid's `launcher`, else jobs/mpi_launch.sh of this tree (next to
// build/bin/), else mpirun with the flags mpi_launch.sh gives.
std::vector<std::string> launcher_words(const std::string& configured, const fs::path& program, int ranks) {
  std::string text = configured;
  if (text.empty()) {
    for (auto candidate : {program.parent_path() / "../../jobs/mpi_launch.sh", fs::path("jobs/mpi_launch.sh")}) {
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec)) {
        text = fs::absolute(candidate).lexically_normal().string() + " {ranks}";
        break;
      }
    }
  }
  if (text.empty())
    text = std::string("mpirun --oversubscribe --bind-to none ") + (::geteuid() == 0 ? "--allow-run-as-root " : "") +
           "-n {ranks}";
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    for (size_t at; (at = w.find("{ranks}")) != std::string::npos;) w.replace(at, 7, std::to_string(ranks));
    words.push_back(w);
  }
  return words;
}

// `launcher N program stage args...` as a child process; a stop signal the sweep receives is passed on once
// (mpirun forwards it to the ranks, which stop as they would alone). Returns the exit code (128 + N for a signal).
int run_subprocess(const std::vector<std::string>& launcher, const fs::path& program, const std::string& stage,
                   const std::vector<std::string>& args) {
  std::vector<std::string> words = launcher;
  words.push_back(program.string());
  words.push_back(stage);
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  spdlog::debug("sweep: running {}", fmt::join(words, " "));
  std::vector<char*> env;
  for (auto& e : start_environment()) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), env.data());
  if (err != 0)
    throw UsageError(fmt::format("sweep: cannot start the launcher {}: {} (set [sweep] launcher in the grid)",
                                 words[0], std::strerror(err)));
  bool forwarded = false;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      continue;
    }
    if (r < 0 && errno != EINTR) throw TransientError(fmt::format("sweep: waitpid on {}: {}", words[0], std::strerror(errno)));
    if (stop_requested() && !forwarded) {
      ::kill(pid, stop_signal_number() ? stop_signal_number() : SIGTERM);
      forwarded = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int run_sweep(int argc, char** argv) {
  Stage stage("sweep",
              "Run a grid of chains (e.g. K x sparsity rate x self-training x seed) from a grid file in jobs/: one "
              "run folder per point named by its parameters, one point after another (finished ones skipped), each "
              "stage on sweep.ranks ranks; or write a SLURM job array for them; then aggregate every point's metrics "
              "into sweep.json / sweep.csv (mean and std over seeds) and a report (docs/cli.md, \"sweep\"). "
              "--run-dir is the sweep folder (default: the grid's [sweep] root, else runs/<grid name>).");
  stage.options().add_options()
      ("grid", po::value<std::string>()->required(), "grid file (jobs/sweep_*.ini)")
      ("slurm", "write <sweep>/sweep_array.sbatch, sweep_aggregate.sbatch and points.txt; run nothing")
      ("point", po::value<std::string>(), "run this one point (what a SLURM array task does); no aggregation")
      ("aggregate-only", "only aggregate what the points hold now into sweep.json / sweep.csv (and the report)");
  stage.add_alias("ranks", "sweep.ranks", "ranks per stage when the sweep runs as one process");
  pipeline_sweep_add_config(stage.schema());

  // The sweep folder comes from --run-dir or the grid; the Stage's own run folder is the sweep folder, or the
  // point's folder for --point (array tasks of one sweep run side by side, each holding its point's lock).
  po::options_description pre;
  pre.add_options()("grid", po::value<std::string>())("run-dir", po::value<std::string>())(
      "point", po::value<std::string>())("help,h", "");
  po::variables_map pv;
  try {
    po::store(po::command_line_parser(argc, argv).options(pre).allow_unregistered().run(), pv);
  } catch (const po::error& e) {
    throw UsageError(fmt::format("s3editor sweep: {} (see s3editor sweep --help)", e.what()));
  }
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) words.push_back(argv[i]);
  SweepGrid grid;
  fs::path sweep_dir;
  const bool have_grid = pv.count("grid") && !pv.count("help");
  if (have_grid) {
    grid = sweep_grid_load(pv["grid"].as<std::string>(), sweep_schemas_from_registry(stage.schema()));
    if (pv.count("run-dir") && !pv["run-dir"].as<std::string>().empty()) sweep_dir = pv["run-dir"].as<std::string>();
    else if (!grid.root.empty()) sweep_dir = grid.root;
    else sweep_dir = fs::path("runs") / fs::path(grid.file).stem();
    sweep_dir = fs::absolute(sweep_dir).lexically_normal();
    if (pv.count("point")) {
      // Checked before the Stage makes the point's folder: a mistyped name leaves nothing behind.
      const std::string name = pv["point"].as<std::string>();
      std::string names;
      bool found = false;
      for (auto& p : sweep_grid_expand(grid)) {
        found = found || p.name == name;
        names += (names.empty() ? "" : ", ") + p.name;
      }
      if (!found)
        throw UsageError(fmt::format("s3editor sweep --point {}: no such point in {} (points: {})", name,
                                     grid.file.string(), names));
    }
    std::vector<std::string> kept;
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] == "--run-dir") { ++i; continue; }
      if (words[i].rfind("--run-dir=", 0) == 0) continue;
      kept.push_back(words[i]);
    }
    kept.push_back("--run-dir");
    kept.push_back((pv.count("point") ? sweep_dir / pv["point"].as<std::string>() : sweep_dir).string());
    words = kept;
  }
  std::vector<char*> args;
  for (auto& w : words) args.push_back(w.data());
  args.push_back(nullptr);
  if (!stage.parse(static_cast<int>(words.size()), args.data())) return 0;

  const auto& vars = stage.vars();
  SweepOptions o{stage.run()};
  o.sweep_dir = sweep_dir;
  o.mode = vars.count("slurm") ? SweepMode::slurm
           : vars.count("point") ? SweepMode::point
           : vars.count("aggregate-only") ? SweepMode::aggregate_only
                                          : SweepMode::run;
  if (int(vars.count("slurm")) + int(vars.count("point")) + int(vars.count("aggregate-only")) > 1)
    throw UsageError("s3editor sweep: give at most one of --slurm, --point, --aggregate-only");
  if (vars.count("point")) o.point = vars["point"].as<std::string>();
  o.ranks = static_cast<int>(stage.config().get_int("sweep.ranks"));
  if (o.ranks == 0) o.ranks = grid.ranks;
  o.program = fs::read_symlink("/proc/self/exe");
  // What the sweep's own command line says about logging and threads goes to every stage too.
  for (auto [key, flag] : {std::pair{"run.log_level", "--log-level"}, std::pair{"run.threads", "--threads"}})
    if (stage.config().source_of(key) == "command line") {
      o.stage_extra_args.push_back(flag);
      o.stage_extra_args.push_back(key == std::string("run.threads") ? std::to_string(stage.threads())
                                                                     : stage.config().get_text(key));
    }

  const int world = stage.comm().size();
  const bool in_job = world > 1 || started_by_launcher();
  if (in_job && o.ranks != world && o.mode != SweepMode::slurm && stage.comm().rank() == 0)
    spdlog::warn("sweep: ranks = {} is ignored under mpirun/srun: every stage runs in-process on the job's {} ranks",
                 o.ranks, world);
  if (in_job && o.mode != SweepMode::slurm) o.ranks = world;
  const std::vector<std::string> launcher = launcher_words(grid.launcher, o.program, o.ranks);
  SweepStageRunner runner = [&](const std::string& name, const std::vector<std::string>& stage_args, int ranks) {
    // Under mpirun/srun (even with one rank) or for one rank: in this process. A sweep of one process asking for N ranks per
    // stage: a launcher subprocess per stage.
    if (in_job || ranks <= 1) return run_in_process(name, stage_args);
    return run_subprocess(launcher, o.program, name, stage_args);
  };
  int rc = pipeline_sweep_run(stage.comm(), o, grid, runner);

  // The report of the whole sweep, when this binary has `s3editor report`.
  if (rc != int(ExitCode::temporary) && (o.mode == SweepMode::run || o.mode == SweepMode::aggregate_only)) {
    if (const CommandInfo* report = command_find("report")) {
      std::vector<std::string> report_args = {o.sweep_dir.string(), "--run-dir", (o.sweep_dir / "report").string(),
                                              "--out", (o.sweep_dir / "report.html").string()};
      report_args.insert(report_args.end(), o.stage_extra_args.begin(), o.stage_extra_args.end());
      try {
        int report_rc = run_in_process(report->name, report_args);
        if (report_rc != 0) spdlog::warn("sweep: report exited with code {}", report_rc);
        else if (stage.comm().rank() == 0) spdlog::info("sweep: wrote {}", (o.sweep_dir / "report.html").string());
      } catch (const std::exception& e) {
        spdlog::warn("sweep: the report failed ({}); the table is in {}/sweep.json", e.what(), o.sweep_dir.string());
      }
    } else if (stage.comm().rank() == 0) {
      spdlog::info("sweep: this s3editor has no `report` subcommand: no report.html (the table is in sweep.json)");
    }
  }
  if (rc == int(ExitCode::temporary))
    throw TransientError(fmt::format("sweep stopped by {}: rerun the same command to resume (finished points are "
                                     "skipped)", stop_reason()));
  return stage.finish(rc);
}

CommandRegistration registration("sweep", "run a grid of chains (one folder per point), or a SLURM array; aggregate",
                                 run_sweep, pipeline_sweep_add_config);

}  // namespace
}  // namespace s3e
