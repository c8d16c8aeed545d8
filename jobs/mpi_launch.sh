#!/usr/bin/env bash
# mpi_launch.sh N cmd... — runs cmd on N MPI ranks with mpirun (root-safe, oversubscription allowed so that the
# demo's 2 ranks run on any machine). Under SLURM use `srun --mpi=pmix` instead (see slurm/).
set -euo pipefail
N="$1"; shift
FLAGS=(--oversubscribe --bind-to none)
[[ "$(id -u)" == 0 ]] && FLAGS+=(--allow-run-as-root)
exec mpirun "${FLAGS[@]}" -n "$N" "$@"
