#!/usr/bin/env bash
# Reproduces the synthetic-world results table of docs/results.md: one world, one classifier, every method x seed
# trained with the same budget and evaluated against the ground truth. Resumable: finished stages are skipped.
#   S3E_RESULTS_DIR (default runs/results), S3E_RANKS (default 2), S3E_SEEDS (default "1 2 3"),
#   S3E_METHODS (default: all of configs/methods except common)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
RUN="${S3E_RESULTS_DIR:-$ROOT/runs/results}"
RANKS="${S3E_RANKS:-2}"
SEEDS="${S3E_SEEDS:-1 2 3}"
METHODS="${S3E_METHODS:-linear lt s3editor mlp_base mlp_routing mlp_selftrain mlp_sparsity}"
MPI="$ROOT/jobs/mpi_launch.sh $RANKS"
STORE="$RUN/store/synth.h5"
CLASSIFIER="$RUN/classifier/classifier.pt"

$MPI "$S3E" synth --config configs/results/world.ini --run-dir "$RUN" --log-level warn
[[ -f "$CLASSIFIER" ]] || $MPI "$S3E" train-classifier --config configs/results/classifier.ini --store "$STORE" \
  --run-dir "$RUN" --log-level warn
# Seeds outermost: an interrupted run still has every method at the first seeds.
for seed in $SEEDS; do
  for method in $METHODS; do
    dir="$RUN/$method/seed$seed"
    if [[ ! -f "$dir/eval/metrics.json" ]]; then
      echo "=== $method seed $seed ==="
      start=$(date +%s)
      $MPI "$S3E" train --config configs/methods/common.ini --config "configs/methods/$method.ini" --seed "$seed" \
        --store "$STORE" --classifier "$CLASSIFIER" --run-dir "$dir" --log-level warn
      $MPI "$S3E" edit --config configs/methods/common.ini --store "$STORE" --editor "$dir/editor" \
        --protocol flip-each --rows heldout --run-dir "$dir/edit" --log-level warn
      "$S3E" eval-latent --edited "$dir/edit/edited.h5" --run-dir "$dir/eval" --log-level warn >/dev/null
      echo "$(( $(date +%s) - start ))" > "$dir/seconds.txt"
    fi
  done
done
/usr/bin/python3 "$ROOT/jobs/results_table.py" "$RUN" $METHODS | tee "$RUN/results.md"
