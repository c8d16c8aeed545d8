#!/usr/bin/env bash
# slurm/submit_edit.sh SHARDS --run-dir RUN [s3editor edit args] — submits bulk editing as a job array of SHARDS
# tasks (slurm/edit_array.sbatch) and its merge (slurm/merge.sbatch, --dependency=afterok on the array), prints both
# job ids and where the outputs go. Extra sbatch options for both: S3E_SBATCH_ARGS (e.g. "--partition=gpu
# --time=2:00:00"), for the array only: S3E_ARRAY_ARGS (e.g. "--cpus-per-task=4" or "%4" to run 4 tasks at a time:
# S3E_ARRAY_LIMIT=4). Example:
#   slurm/submit_edit.sh 8 --run-dir runs/vox_smile --videos --store runs/vox/store.h5 --editor runs/train/editor \
#       --edit smile=+0.1
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHARDS="${1:?usage: submit_edit.sh SHARDS --run-dir RUN [s3editor edit args]}"; shift
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "submit_edit.sh: SHARDS must be a positive number, not '$SHARDS'" >&2; exit 2; }
source "$HERE/common.sh"
s3e_split_args "$@"
[[ -n "$S3E_RUN_DIR" ]] || { echo "submit_edit.sh: give --run-dir RUN" >&2; exit 2; }
export S3E_ROOT="${S3E_ROOT:-$(cd "$HERE/.." && pwd)}"
run="$(realpath -m "$S3E_RUN_DIR")"
mkdir -p "$run/slurm"
array="0-$((SHARDS - 1))"; [[ -n "${S3E_ARRAY_LIMIT:-}" ]] && array+="%$S3E_ARRAY_LIMIT"
read -r -a common <<<"${S3E_SBATCH_ARGS:-}"
read -r -a extra <<<"${S3E_ARRAY_ARGS:-}"
arr=$(sbatch --parsable "${common[@]}" "${extra[@]}" --array="$array" --output="$run/slurm/edit_%A_%a.out" \
  "$HERE/edit_array.sbatch" "$@")
arr="${arr%%;*}"
merge=$(sbatch --parsable "${common[@]}" --dependency="afterok:$arr" --output="$run/slurm/merge_%j.out" \
  "$HERE/merge.sbatch" "$@")
merge="${merge%%;*}"
echo "array job $arr: $SHARDS task(s), each in $run/tasks/<i>/ (logs $run/slurm/edit_${arr}_<i>.out)"
echo "merge job $merge (after every task succeeded): index ${S3E_OUT:-$run/edited.h5}, log $run/slurm/merge_$merge.out"
echo "follow: squeue -j $arr,$merge; s3editor status $run/tasks/<i>"
