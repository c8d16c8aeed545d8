#include "pipeline/sweep.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "core/command_registry.h"
#include "core/clock_text.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/stop_signal.h"
#include "pipeline/run_manifest.h"
#include "pipeline/sweep_aggregate.h"
#include "pipeline/sweep_slurm.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace s3e {
namespace {

constexpr const char* k_point_record = "sweep_point.json";
constexpr const char* k_point_ini = "point.ini";

json read_json_or_null(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return nullptr;
  try {
    return json::parse(file_read_all(path));
  } catch (...) {
    return nullptr;  // a torn or foreign file: treated as absent
  }
}

// "done", "failed" or "pending", with the reason of a failure. Reads only files (rank 0).
std::pair<std::string, std::string> point_status(const SweepGrid& grid, const fs::path& point_dir) {
  const std::string last = grid.stages.back();
  json manifest = read_json_or_null(run_manifest_path(point_dir / last, last));
  const std::string outcome = manifest.is_object() ? manifest.value("outcome", std::string()) : "";
  std::error_code ec;
  if ((outcome == "completed" || outcome == "items failed") &&
      fs::is_regular_file(sweep_point_metrics(grid, point_dir), ec))
    return {"done", ""};
  json record = read_json_or_null(point_dir / k_point_record);
  if (record.is_object() && record.value("status", std::string()) == "failed")
    return {"failed", record.value("detail", std::string())};
  return {"pending", ""};
}

void write_record(const fs::path& point_dir, const SweepPoint& point, const std::string& status,
                  const std::string& stage, int exit_code, const std::string& detail, int attempts, double seconds) {
  json j;
  j["schema"] = "s3editor.sweep_point";
  j["version"] = 1;
  j["name"] = point.name;
  j["index"] = point.index;
  json params = json::object();
  for (auto& [k, v] : point.params) params[k] = v;
  j["params"] = params;
  j["status"] = status;
  j["stage"] = stage;
  j["exit_code"] = exit_code;
  j["detail"] = detail;
  j["attempts"] = attempts;
  j["seconds"] = seconds;
  file_write_atomic(point_dir / k_point_record, j.dump(2) + "\n");
}


enum class PointResult { done, skipped, failed, stopped };

struct PointRunner {
  Communicator& comm;
  const SweepOptions& o;
  const SweepGrid& grid;
  const SweepStageRunner& run_stage;
  int total = 0;

  // Rank 0 decides; every rank learns the decision (a broadcast), so all ranks run the same stages.
  std::string from_root(const std::string& text) { return comm_broadcast_string(comm, text, 0); }

  PointResult run(const SweepPoint& point) {
    const bool root = comm.rank() == 0;
    const fs::path dir = o.sweep_dir / point.name;
    const std::string tag = fmt::format("point {}/{} {}", point.index + 1, total, point.name);
    const std::string ini = sweep_point_ini(grid, point, dir);
    // Rank 0: is it finished, are its settings the ones it ran with; then writes point.ini for every rank.
    std::string decision, error;
    int attempts = 1;
    if (root) {
      try {
        file_ensure_writable_dir(dir);
        const fs::path ini_path = dir / k_point_ini;
        std::error_code ec;
        if (fs::is_regular_file(ini_path, ec) && file_read_all(ini_path) != ini && !o.run.fresh)
          throw UsageError(fmt::format("{}: {} differs from what the grid {} gives this point now (the grid or its "
                                       "base changed since the point ran): use another sweep folder (--run-dir), or "
                                       "--fresh to redo every point",
                                       tag, ini_path.string(), grid.file.string()));
        auto [status, _] = point_status(grid, dir);
        json record = read_json_or_null(dir / k_point_record);
        if (record.is_object()) attempts = record.value("attempts", 0) + 1;
        if (status == "done" && !o.run.fresh) {
          decision = "skip";
        } else {
          file_write_atomic(ini_path, ini);
          decision = "run";
        }
      } catch (const Error& e) {
        error = e.what();
      }
    }
    error = from_root(error);
    if (!error.empty()) throw UsageError(error);
    decision = from_root(decision);
    if (decision == "skip") {
      if (root) spdlog::info("{}: finished before, skipped", tag);
      return PointResult::skipped;
    }

    const double t0 = clock_steady_seconds();
    if (root) write_record(dir, point, "running", "", 0, "", attempts, 0);
    for (size_t s = 0; s < grid.stages.size(); ++s) {
      const std::string& stage = grid.stages[s];
      if (root) spdlog::info("{}: {} ({}/{})", tag, stage, s + 1, grid.stages.size());
      std::vector<std::string> args;
      if (!grid.base.empty()) args = {"--config", grid.base.string()};
      args.insert(args.end(), {"--config", (dir / k_point_ini).string()});
      if (auto it = grid.stage_args.find(stage); it != grid.stage_args.end())
        args.insert(args.end(), it->second.begin(), it->second.end());
      args.insert(args.end(), o.stage_extra_args.begin(), o.stage_extra_args.end());
      if (o.run.fresh) args.push_back("--fresh");
      int rc = 0;
      std::string detail;
      if (comm.size() == 1) {
        // One process: a stage's error fails its point, and the sweep goes on with the next one. (With several
        // ranks an error may be on one rank only while the others wait in a collective: it ends the job, as any
        // stage's error does, and a rerun resumes.)
        try {
          rc = run_stage(stage, args, o.ranks);
        } catch (const TransientError&) {
          throw;
        } catch (const std::exception& e) {
          rc = exit_code_of(e);
          detail = e.what();
          spdlog::error("{}", log_format_rank_error(comm.rank(), stage, e.what()));
        }
      } else {
        rc = run_stage(stage, args, o.ranks);
      }
      rc = static_cast<int>(comm_allreduce_int64(comm, rc, ReduceOp::max));
      const bool stop = comm_allreduce_int64(comm, stop_requested() ? 1 : 0, ReduceOp::max) != 0;
      if (rc == int(ExitCode::temporary) || (rc == 0 && stop && s + 1 < grid.stages.size())) {
        if (root) {
          if (rc == 0) spdlog::warn("{}: stopped after {} ({}): rerun the sweep to resume", tag, stage, stop_reason());
          else spdlog::warn("{}: {} stopped (exit {}): rerun the sweep to resume", tag, stage, rc);
          write_record(dir, point, "stopped", stage, rc, "", attempts, clock_seconds_since(t0));
        }
        return PointResult::stopped;
      }
      if (rc == int(ExitCode::bad_data) && detail.empty()) {
        // Items failed (bad inputs recorded in the stage's failed.csv) but the stage finished: the chain goes on.
        if (root) spdlog::warn("{}: {} finished with failed items (exit 3, see {}/failed.csv)", tag, stage,
                               (dir / stage).string());
      } else if (rc != 0) {
        if (detail.empty()) detail = fmt::format("{} exited with code {} (its log: {}/logs)", stage, rc,
                                                 (dir / stage).string());
        else detail = fmt::format("{} failed (exit {}): {}", stage, rc, detail);
        if (root) {
          spdlog::error("{}: {}", tag, detail);
          write_record(dir, point, "failed", stage, rc, detail, attempts, clock_seconds_since(t0));
        }
        return PointResult::failed;
      }
    }
    std::string outcome;
    if (root) {
      auto [status, _] = point_status(grid, dir);
      if (status == "done") {
        write_record(dir, point, "done", grid.stages.back(), 0, "", attempts, clock_seconds_since(t0));
        spdlog::info("{}: done in {:.1f} s", tag, clock_seconds_since(t0));
        outcome = "done";
      } else {
        const std::string detail = fmt::format("the stages ended but {} is missing (grid's metrics = {})",
                                               sweep_point_metrics(grid, dir).string(), grid.metrics);
        spdlog::error("{}: {}", tag, detail);
        write_record(dir, point, "failed", grid.stages.back(), 0, detail, attempts, clock_seconds_since(t0));
        outcome = "failed";
      }
    }
    return from_root(outcome) == "done" ? PointResult::done : PointResult::failed;
  }
};

}  // namespace

void pipeline_sweep_add_config(ConfigSchema& schema) {
  schema.add_int("sweep.ranks", 0, "ranks per stage of every point (0: the grid's [sweep] ranks); ignored under "
                                   "mpirun/srun, where the points run in-process on the job's ranks", 0, 1e6);
}

SweepSchemas sweep_schemas_from_registry(const ConfigSchema& common) {
  SweepSchemas schemas;
  schemas.common = common;
  for (auto& c : command_list()) {
    ConfigSchema s;
    if (c.add_config) c.add_config(s);
    schemas.stages.emplace(c.name, std::move(s));
  }
  return schemas;
}

std::string sweep_aggregate_write(const SweepGrid& grid, const fs::path& sweep_dir, int* failed_points) {
  std::vector<SweepPointResult> results;
  int failed = 0;
  for (auto& p : sweep_grid_expand(grid)) {
    SweepPointResult r;
    r.point = p;
    r.folder = sweep_dir / p.name;
    std::tie(r.status, r.detail) = point_status(grid, r.folder);
    if (r.status == "done") {
      try {
        r.metrics = sweep_metrics_read(sweep_point_metrics(grid, r.folder));
      } catch (const Error& e) {
        r.status = "failed";
        r.detail = e.what();
      }
    }
    failed += r.status == "failed";
    results.push_back(std::move(r));
  }
  auto rows = sweep_table(grid, results);
  file_write_atomic(sweep_dir / "sweep.json", sweep_json(grid, results, rows).dump(2) + "\n");
  file_write_atomic(sweep_dir / "sweep.csv", sweep_csv(grid, rows));
  if (failed_points) *failed_points = failed;
  return sweep_text_table(grid, rows, results);
}

int pipeline_sweep_run(Communicator& comm, const SweepOptions& o, const SweepGrid& grid,
                       const SweepStageRunner& run_stage) {
  const bool root = comm.rank() == 0;
  const auto points = sweep_grid_expand(grid);
  const std::string where = o.sweep_dir.string();

  if (o.mode == SweepMode::slurm) {
    if (root) {
      SweepSlurmJob job;
      job.program = o.program;
      job.grid = fs::absolute(grid.file).lexically_normal();
      job.sweep_dir = o.sweep_dir;
      job.work_dir = fs::current_path();
      job.ranks = o.ranks;
      job.threads = grid.slurm.cpus_per_task;
      if (job.threads <= 0) {
        job.threads = 1;
        for (auto& [k, v] : grid.base_values)
          if (k == "run.threads") job.threads = std::max(1, std::atoi(v.c_str()));
        for (auto& [k, v] : grid.set)
          if (k == "run.threads") job.threads = std::max(1, std::atoi(v.c_str()));
      }
      auto files = sweep_slurm_write(grid, points, job);
      spdlog::info("sweep {}: {} points; wrote {}, {} and {}", grid.file.string(), points.size(),
                   files.points.string(), files.array_script.string(), files.aggregate_script.string());
      std::cout << "submit: jid=$(sbatch --parsable " << files.array_script.string() << ")\n"
                << "then:   sbatch --dependency=afterany:$jid " << files.aggregate_script.string() << "\n";
    }
    return 0;
  }

  if (o.mode == SweepMode::aggregate_only) {
    int failed = 0;
    if (root) {
      std::cout << sweep_aggregate_write(grid, o.sweep_dir, &failed);
      spdlog::info("sweep {}: wrote {}/sweep.json and sweep.csv", grid.file.string(), where);
    }
    return 0;
  }

  PointRunner runner{comm, o, grid, run_stage, static_cast<int>(points.size())};
  if (root)
    spdlog::info("sweep {}: {} points x {} stages, {} rank(s) per stage, in {}", grid.file.string(), points.size(),
                 grid.stages.size(), comm.size() > 1 ? comm.size() : o.ranks, where);

  if (o.mode == SweepMode::point) {
    const SweepPoint* point = nullptr;
    for (auto& p : points)
      if (p.name == o.point) point = &p;
    if (!point) {
      std::string names;
      for (auto& p : points) names += (names.empty() ? "" : ", ") + p.name;
      throw UsageError(fmt::format("--point {}: no such point in {} (points: {})", o.point, grid.file.string(), names));
    }
    switch (runner.run(*point)) {
      case PointResult::done:
      case PointResult::skipped: return 0;
      case PointResult::stopped: return int(ExitCode::temporary);
      case PointResult::failed: return int(ExitCode::bad_data);
    }
  }

  int done = 0, skipped = 0, failed = 0;
  for (auto& p : points) {
    auto r = runner.run(p);
    if (r == PointResult::stopped) {
      if (root) spdlog::warn("sweep stopped at {} ({} of {} points finished): rerun the same command to resume",
                             p.name, done + skipped, points.size());
      return int(ExitCode::temporary);
    }
    done += r == PointResult::done;
    skipped += r == PointResult::skipped;
    failed += r == PointResult::failed;
  }
  if (root) {
    spdlog::info("sweep {}: {} points run, {} finished before, {} failed", grid.file.string(), done, skipped, failed);
    std::cout << sweep_aggregate_write(grid, o.sweep_dir, nullptr);
    spdlog::info("sweep: wrote {}/sweep.json and sweep.csv", where);
  }
  return failed ? int(ExitCode::bad_data) : 0;
}

}  // namespace s3e
