// sweep_slurm.h — `s3editor sweep --slurm`: the sweep as a SLURM job array. Writes <sweep>/points.txt (one point
// name per line, in expansion order), <sweep>/sweep_array.sbatch (array task i runs the point on line i+1 through
// `srun s3editor sweep --point`, on sweep.ranks tasks; exit 75 requeues it) and <sweep>/sweep_aggregate.sbatch (the
// table, to submit with --dependency=afterany on the array). Nothing is submitted.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/sweep_grid.h"

namespace s3e {

struct SweepSlurmFiles {
  std::filesystem::path points, array_script, aggregate_script;
};

struct SweepSlurmJob {
  std::filesystem::path program;    // the s3editor binary (absolute)
  std::filesystem::path grid;       // the grid file (absolute)
  std::filesystem::path sweep_dir;  // absolute
  std::filesystem::path work_dir;   // where the stages run (relative paths of the grid and base resolve from here)
  int ranks = 1;                    // tasks per array task
  int threads = 1;                  // cpus per task
};

// The array script's text (for tests; sweep_slurm_write writes it).
std::string sweep_slurm_array_script(const SweepGrid& grid, const std::vector<SweepPoint>& points,
                                     const SweepSlurmJob& job);
std::string sweep_slurm_aggregate_script(const SweepGrid& grid, const SweepSlurmJob& job);
// Writes the three files (and <sweep>/slurm/ for the jobs' output) atomically.
SweepSlurmFiles sweep_slurm_write(const SweepGrid& grid, const std::vector<SweepPoint>& points,
                                  const SweepSlurmJob& job);

// 'text' for bash, with embedded single quotes escaped.
std::string sweep_shell_quote(const std::string& text);

}  // namespace s3e
