#!/usr/bin/env bash
# slurm/submit_edit.sh SHARDS --run-dir RUN [s3editor edit args] — bulk editing as a job array of SHARDS tasks and
# its merge: `slurm/submit_array.sh edit SHARDS ...` (see there for S3E_SBATCH_ARGS, S3E_ARRAY_ARGS,
# S3E_ARRAY_LIMIT); prints both job ids and where the outputs go (the index: --out, default RUN/edited.h5). Example:
#   slurm/submit_edit.sh 8 --run-dir runs/vox_smile --videos --store runs/vox/store.h5 --editor runs/train/editor \
#       --edit smile=+0.1
set -euo pipefail
SHARDS="${1:?usage: submit_edit.sh SHARDS --run-dir RUN [s3editor edit args]}"; shift
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/submit_array.sh" edit "$SHARDS" "$@"
