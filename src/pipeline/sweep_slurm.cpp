#include "pipeline/sweep_slurm.h"

#include <fmt/format.h>

#include <cctype>

#include "core/file_util.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

std::string job_name(const SweepGrid& grid) {
  std::string stem = fs::path(grid.file).stem().string(), out;
  if (stem.rfind("sweep_", 0) == 0) stem = stem.substr(6);
  for (char c : stem) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '-';
  return out.empty() ? "sweep" : out;
}

// #SBATCH lines that the grid may set; values go through as written (sbatch parses them).
std::string sbatch_options(const SweepGrid& grid) {
  std::string out;
  if (!grid.slurm.partition.empty()) out += "#SBATCH --partition=" + grid.slurm.partition + "\n";
  if (!grid.slurm.account.empty()) out += "#SBATCH --account=" + grid.slurm.account + "\n";
  if (!grid.slurm.time.empty()) out += "#SBATCH --time=" + grid.slurm.time + "\n";
  if (!grid.slurm.mem.empty()) out += "#SBATCH --mem=" + grid.slurm.mem + "\n";
  return out;
}

}  // namespace

std::string sweep_shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string sweep_slurm_array_script(const SweepGrid& grid, const std::vector<SweepPoint>& points,
                                     const SweepSlurmJob& job) {
  const auto q = [](const fs::path& p) { return sweep_shell_quote(p.string()); };
  const std::string sweep = job.sweep_dir.string();
  std::string array = fmt::format("0-{}", points.size() - 1);
  if (grid.slurm.max_parallel > 0) array += fmt::format("%{}", grid.slurm.max_parallel);
  std::string s;
  s += "#!/bin/bash\n";
  s += fmt::format(
      "# The sweep {} as a SLURM job array, written by `s3editor sweep --slurm`: {} points, one array task\n"
      "# each. Task i runs the point on line i+1 of points.txt with `s3editor sweep --point` on {} rank(s); its\n"
      "# stages run in-process on the task's ranks (no nested mpirun). A task that stops with exit 75 (preempted,\n"
      "# SIGTERM/USR1) is requeued; a rerun skips finished points and resumes an interrupted one.\n"
      "# Submit, then aggregate once every task has ended:\n"
      "#   jid=$(sbatch --parsable {}/sweep_array.sbatch)\n"
      "#   sbatch --dependency=afterany:$jid {}/sweep_aggregate.sbatch\n"
      "# or later, by hand: s3editor sweep --grid {} --run-dir {} --aggregate-only\n",
      grid.file.string(), points.size(), job.ranks, sweep, sweep, job.grid.string(), sweep);
  s += "#SBATCH --job-name=sweep-" + job_name(grid) + "\n";
  s += "#SBATCH --array=" + array + "\n";
  s += fmt::format("#SBATCH --ntasks={}\n", job.ranks);
  s += fmt::format("#SBATCH --cpus-per-task={}\n", job.threads);
  s += sbatch_options(grid);
  s += "#SBATCH --output=" + sweep + "/slurm/%A_%a.out\n";
  s += "#SBATCH --open-mode=append\n";
  s += "#SBATCH --requeue\n";
  // USR1 to the job steps (the ranks) 120 s before the time limit: trainers checkpoint and exit 75.
  s += "#SBATCH --signal=USR1@120\n";
  s += "set -uo pipefail\n";
  s += "cd " + q(job.work_dir) + " || exit 2\n";
  s += "points=" + q(job.sweep_dir / "points.txt") + "\n";
  s += "task=\"${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}\"\n";
  s += "point=\"$(sed -n \"$((task + 1))p\" \"$points\")\"\n";
  s += "if [[ -z \"$point\" ]]; then\n";
  s += "  echo \"sweep: no point on line $((task + 1)) of $points\" >&2\n";
  s += "  exit 2\n";
  s += "fi\n";
  s += fmt::format("export OMP_NUM_THREADS={}\n", job.threads);
  s += "echo \"sweep: array task $task runs point $point on ${SLURM_NTASKS:-1} rank(s)\"\n";
  s += "rc=0\n";
  s += "srun --mpi=pmix --kill-on-bad-exit=1 " + q(job.program) + " sweep --grid " + q(job.grid) + " --run-dir " +
       q(job.sweep_dir) + " --point \"$point\" || rc=$?\n";
  s += "if ((rc == 75)); then\n";
  s += "  echo \"sweep: point $point stopped (exit 75): requeueing task $task\"\n";
  s += "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${task}\"\n";
  s += "fi\n";
  s += "exit \"$rc\"\n";
  return s;
}

std::string sweep_slurm_aggregate_script(const SweepGrid& grid, const SweepSlurmJob& job) {
  const auto q = [](const fs::path& p) { return sweep_shell_quote(p.string()); };
  std::string s;
  s += "#!/bin/bash\n";
  s += "# Aggregates the sweep " + grid.file.string() + " (sweep.json, sweep.csv, report) after its job array:\n";
  s += "#   sbatch --dependency=afterany:<array job id> " + job.sweep_dir.string() + "/sweep_aggregate.sbatch\n";
  s += "#SBATCH --job-name=sweep-" + job_name(grid) + "-aggregate\n";
  s += "#SBATCH --ntasks=1\n";
  s += "#SBATCH --cpus-per-task=1\n";
  s += sbatch_options(grid);
  s += "#SBATCH --output=" + job.sweep_dir.string() + "/slurm/%j_aggregate.out\n";
  s += "set -euo pipefail\n";
  s += "cd " + q(job.work_dir) + "\n";
  s += "srun --mpi=pmix -n 1 " + q(job.program) + " sweep --grid " + q(job.grid) + " --run-dir " + q(job.sweep_dir) +
       " --aggregate-only\n";
  return s;
}

SweepSlurmFiles sweep_slurm_write(const SweepGrid& grid, const std::vector<SweepPoint>& points,
                                  const SweepSlurmJob& job) {
  SweepSlurmFiles files{job.sweep_dir / "points.txt", job.sweep_dir / "sweep_array.sbatch",
                        job.sweep_dir / "sweep_aggregate.sbatch"};
  file_ensure_writable_dir(job.sweep_dir / "slurm");
  std::string list;
  for (auto& p : points) list += p.name + "\n";
  file_write_atomic(files.points, list);
  file_write_atomic(files.array_script, sweep_slurm_array_script(grid, points, job));
  file_write_atomic(files.aggregate_script, sweep_slurm_aggregate_script(grid, job));
  fs::permissions(files.array_script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  fs::permissions(files.aggregate_script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  return files;
}

}  // namespace s3e
