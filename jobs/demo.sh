#!/usr/bin/env bash
# The main job: an end-to-end demo on the built-in data, no user weights. Runs setup and build as needed, then
# each stage on $S3E_RANKS MPI ranks (default 2) into $S3E_DEMO_DIR (default runs/demo).
#   1. synth       a synthetic W+ latent world (configs/demo.ini) with its ground truth
#   2. export-npy  the store as Latent Transformer .npy files (the format users bring)
#   3. import-npy  those files back into a store, sharded over the ranks
#   4. inspect     summaries of both stores
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/jobs/setup.sh"
"$ROOT/jobs/build.sh" >/dev/null
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
RANKS="${S3E_RANKS:-2}"
RUN="${S3E_DEMO_DIR:-$ROOT/runs/demo}"
MPI="$ROOT/jobs/mpi_launch.sh $RANKS"
step() { echo; echo "=== $* ==="; }
cd "$ROOT"

step "1. synth: synthetic latent world on $RANKS ranks"
$MPI "$S3E" synth --config configs/demo.ini --run-dir "$RUN" --log-level warn
step "2. export-npy: Latent Transformer .npy format"
"$S3E" export-npy "$RUN/store/synth.h5" --out-dir "$RUN/npy" --run-dir "$RUN" --log-level warn
step "3. import-npy: Latent Transformer files into a sharded store on $RANKS ranks"
$MPI "$S3E" import-npy --latents "$RUN/npy/latents.npy" --labels "$RUN/npy/labels.npy" \
  --attributes "$RUN/npy/attributes.txt" --out "$RUN/store/imported.h5" --run-dir "$RUN" --log-level warn
step "4. inspect"
"$S3E" inspect "$RUN/store/synth.h5" "$RUN/store/imported.h5" "$RUN/store/synth.truth.h5"
echo
echo "demo outputs are in $RUN (store/, npy/, logs/, *.config.ini)"
