#!/usr/bin/env bash
# slurm/submit_array.sh STAGE SHARDS --run-dir RUN [s3editor STAGE args] — submits an item stage (ingest, edit, eval,
# item-selftest) as a job array of SHARDS tasks (slurm/item_array.sbatch: task i runs shard i/SHARDS in
# RUN/tasks/i/) and its merge (slurm/merge.sbatch, --dependency=afterok on the array), prints both job ids and where
# the outputs go: the index `--out` or the stage's default (ingest: RUN/store.h5; edit: RUN/edited.h5; eval:
# RUN/metrics.json + metrics.csv). Give the index as `--out`, not as io.* in a config: tasks write their own.
# Extra sbatch options for both jobs: S3E_SBATCH_ARGS (e.g. "--partition=gpu --time=2:00:00"), for the array only:
# S3E_ARRAY_ARGS (e.g. "--cpus-per-task=4"); S3E_ARRAY_LIMIT=4 runs at most 4 tasks at a time. Examples:
#   slurm/submit_array.sh ingest 16 --run-dir runs/vox videos.txt --set ingest.range_seconds=30
#   slurm/submit_array.sh edit 8 --run-dir runs/vox_smile --videos --store runs/vox/store.h5 \
#       --editor runs/train/editor --edit smile=+0.1
#   slurm/submit_array.sh eval 8 --run-dir runs/vox_smile_eval --edited runs/vox_smile/edited.h5
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage="usage: submit_array.sh STAGE SHARDS --run-dir RUN [s3editor STAGE args]"
STAGE="${1:?$usage}"; SHARDS="${2:?$usage}"; shift 2
source "$HERE/common.sh"
[[ " $S3E_ITEM_STAGES " == *" $STAGE "* ]] || { echo "submit_array.sh: STAGE must be one of: $S3E_ITEM_STAGES (not '$STAGE')" >&2; exit 2; }
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "submit_array.sh: SHARDS must be a positive number, not '$SHARDS'" >&2; exit 2; }
s3e_split_args "$@"
[[ -n "$S3E_RUN_DIR" ]] || { echo "submit_array.sh: give --run-dir RUN" >&2; exit 2; }
export S3E_ROOT="${S3E_ROOT:-$(cd "$HERE/.." && pwd)}"
export S3E_STAGE="$STAGE"   # the jobs get it in their environment, and as their first argument
run="$(realpath -m "$S3E_RUN_DIR")"
mkdir -p "$run/slurm"
array="0-$((SHARDS - 1))"; [[ -n "${S3E_ARRAY_LIMIT:-}" ]] && array+="%$S3E_ARRAY_LIMIT"
read -r -a common <<<"${S3E_SBATCH_ARGS:-}"
read -r -a extra <<<"${S3E_ARRAY_ARGS:-}"
arr=$(sbatch --parsable --job-name="s3e-$STAGE" "${common[@]}" "${extra[@]}" --array="$array" \
  --output="$run/slurm/${STAGE}_%A_%a.out" "$HERE/item_array.sbatch" "$STAGE" "$@")
arr="${arr%%;*}"
merge=$(sbatch --parsable --job-name="s3e-$STAGE-merge" "${common[@]}" --dependency="afterok:$arr" \
  --output="$run/slurm/merge_%j.out" "$HERE/merge.sbatch" "$STAGE" "$@")
merge="${merge%%;*}"
index="$(s3e_stage_output "$STAGE")"
if [[ -n "$S3E_OUT" ]]; then out="$(realpath -m "$S3E_OUT")"; elif [[ -n "$index" ]]; then out="$run/$index"; else out=""; fi
case "$STAGE" in
  ingest) what="latent store index $out (item files in $run/latents/)" ;;
  edit) what="index $out (edited rows or videos under $run/)" ;;
  eval) what="metrics $out and ${out%.json}.csv" ;;
  *) what="ledger $run/items/" ;;
esac
echo "array job $arr: $SHARDS task(s) of s3editor $STAGE, each in $run/tasks/<i>/ (logs $run/slurm/${STAGE}_${arr}_<i>.out)"
echo "merge job $merge (after every task succeeded): $what; failed items in $run/failed.csv; log $run/slurm/merge_$merge.out"
echo "follow: squeue -j $arr,$merge; s3editor status $run/tasks/<i>"
