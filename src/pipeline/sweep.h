// sweep.h — the sweep stage's driver (`s3editor sweep`, docs/cli.md "sweep"): expands a grid file
// (pipeline/sweep_grid.h) into points and runs each point's chain of stages, one point after another, skipping the
// points that finished; then aggregates every point's metrics into <sweep>/sweep.json and sweep.csv
// (pipeline/sweep_aggregate.h). Or writes a SLURM job array for the points (pipeline/sweep_slurm.h), runs one point
// (what an array task does), or only aggregates.
//
// Each point is a folder <sweep>/<point name> with point.ini (its overrides, read after the grid's base INI),
// one run folder per stage (<point>/<stage>, as run.root = the point), and sweep_point.json (status, attempts, the
// failing stage). A point is finished when its last stage's manifest says "completed" (or "items failed") and its
// metrics file exists. Stages are run through a callback of the app layer (in-process on the job's ranks, or as an
// mpirun subprocess), so this layer does not depend on the subcommands.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"
#include "pipeline/sweep_grid.h"

namespace s3e {

enum class SweepMode { run, slurm, point, aggregate_only };

struct SweepOptions {
  StageRun run;                       // the sweep's own stage (fresh: redo every point's stages with --fresh)
  std::filesystem::path sweep_dir{};  // absolute
  SweepMode mode = SweepMode::run;
  std::string point{};                // SweepMode::point: the point's name
  int ranks = 1;                      // ranks per stage (the grid's, or sweep.ranks)
  std::filesystem::path program{};    // this binary, absolute (SLURM scripts)
  std::vector<std::string> stage_extra_args{};  // given to every stage (e.g. --log-level warn from the sweep's CLI)
};

// Runs `stage` with `args` (argv without the program and subcommand) on `ranks` ranks; returns its exit code, or
// throws the stage's error.
using SweepStageRunner =
    std::function<int(const std::string& stage, const std::vector<std::string>& args, int ranks)>;

// Config keys of the stage (sweep.ranks).
void pipeline_sweep_add_config(ConfigSchema& schema);
// The keys a grid may set: `common` (the keys every stage has) and each registered subcommand's own keys.
SweepSchemas sweep_schemas_from_registry(const ConfigSchema& common);

// Runs the sweep on every rank of `comm` (rank 0 decides what is finished and writes the files; the stages run on
// every rank). Returns the exit code: 0 every point done (slurm, aggregate-only: written), 3 some point failed,
// 75 stopped by a signal (rerun to resume).
int pipeline_sweep_run(Communicator& comm, const SweepOptions& options, const SweepGrid& grid,
                       const SweepStageRunner& run_stage);

// Aggregates what the points hold now into <sweep>/sweep.json and sweep.csv (rank 0 only) and returns the text
// table. `failed_points` (may be null) gets the number of failed points.
std::string sweep_aggregate_write(const SweepGrid& grid, const std::filesystem::path& sweep_dir, int* failed_points);

}  // namespace s3e
