#!/usr/bin/env bash
# Runs the whole chain that jobs/chain_synth.ini describes (synth -> train-classifier -> train -> edit ->
# eval-latent), in the current folder, each stage on S3E_RANKS ranks (default 1; edit and eval-latent too). No file
# is named on a command line: every stage reads [io] from the one INI file. Usage: jobs/chain_synth.sh [extra args
# for every stage, e.g. --set run.root=runs/chain2 ...]. S3E: the binary (default build/bin/s3editor of this tree).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3E="${S3E:-$ROOT/build/bin/s3editor}"
INI="${S3E_CHAIN_INI:-$ROOT/jobs/chain_synth.ini}"
RANKS="${S3E_RANKS:-1}"
run() {
  if ((RANKS > 1)); then "$ROOT/jobs/mpi_launch.sh" "$RANKS" "$S3E" "$@"; else "$S3E" "$@"; fi
}
for stage in synth train-classifier train edit eval-latent; do
  echo "[chain] $stage"
  run "$stage" --config "$INI" "$@"
done
