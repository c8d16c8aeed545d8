#!/usr/bin/env bash
# slurm/sweep.sh GRID [s3editor sweep args] — a sweep as SLURM jobs (docs/operations.md, "SLURM"; docs/cli.md,
# "sweep"): `s3editor sweep --grid GRID --slurm` writes <sweep>/points.txt, sweep_array.sbatch (one array task per
# point, requeued on exit 75) and sweep_aggregate.sbatch; this submits the array, then the aggregation with
# --dependency=afterok on it (S3E_SWEEP_DEPENDENCY=afterany aggregates even when some points failed: the table then
# shows them as failed), and prints the job ids and where the outputs go. Extra sbatch options for both jobs:
# S3E_SBATCH_ARGS. The grid's [sweep] slurm_* keys set partition, account, time, memory, CPUs and --array's %N.
# S3E: the binary (default build/bin/s3editor of this checkout). Example:
#   slurm/sweep.sh jobs/sweep_synth_k.ini --ranks 2
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GRID="${1:?usage: slurm/sweep.sh GRID [s3editor sweep args, e.g. --run-dir DIR --ranks N]}"; shift
S3E="${S3E:-$HERE/../build/bin/s3editor}"
[[ -x "$S3E" ]] || S3E="$(command -v s3editor || true)"
[[ -n "$S3E" ]] || { echo "sweep.sh: no s3editor binary (set S3E)" >&2; exit 2; }
log="$("$S3E" sweep --grid "$GRID" --slurm --log-level info "$@" 2>&1)" || { echo "$log" >&2; exit 2; }
array_script="$(sed -n 's/.*wrote .*, \(\/.*\/sweep_array\.sbatch\) and .*/\1/p' <<<"$log" | tail -1)"
[[ -n "$array_script" && -f "$array_script" ]] || { echo "$log" >&2; echo "sweep.sh: no array script in the output above" >&2; exit 2; }
sweep="$(dirname "$array_script")"
read -r -a common <<<"${S3E_SBATCH_ARGS:-}"
arr=$(sbatch --parsable "${common[@]}" "$sweep/sweep_array.sbatch"); arr="${arr%%;*}"
agg=$(sbatch --parsable "${common[@]}" --dependency="${S3E_SWEEP_DEPENDENCY:-afterok}:$arr" "$sweep/sweep_aggregate.sbatch")
agg="${agg%%;*}"
echo "array job $arr: $(wc -l < "$sweep/points.txt") point(s) of $GRID, each in $sweep/<point>/ (logs $sweep/slurm/${arr}_<i>.out)"
echo "aggregation job $agg: $sweep/sweep.json, sweep.csv, report.html (log $sweep/slurm/${agg}_aggregate.out)"
echo "follow: squeue -j $arr,$agg"
