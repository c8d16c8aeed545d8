#!/usr/bin/env bash
# bench_train.sh STORE CLASSIFIER [STEPS] — training throughput of `s3editor train` vs the same step in
# python3-torch (bench_train_reference.py, batches read with h5py), 1 rank, 1 thread, batch 32, side by side,
# for the S3Editor experts (region_mlp, K = 5) and Latent Transformer (lt_linear), W+ stores with 40 attributes.
# Repeats each 3 times and prints medians and the ratio.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STORE="$1"; CLASSIFIER="$2"; STEPS="${3:-30}"
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for transform in region_mlp lt_linear; do
  clusters=5; [[ $transform == lt_linear ]] && clusters=0
  cpp=(); py=()
  for rep in 1 2 3; do
    # C++: the trainer's own samples/s over its timed loop (log line of the last step), after a warm-up run's caches.
    OMP_NUM_THREADS=1 "$S3E" train --store "$STORE" --classifier "$CLASSIFIER" --run-dir "$TMP/$transform$rep" --fresh \
      --threads 1 --log-level warn --set editor.transform=$transform --set editor.clusters=$clusters \
      --set editor.heldout_attributes=32-39 --set editor.hidden_total=960 --set train.steps=$STEPS \
      --set train.batch_size=32 --set train.log_every=$STEPS --set train.checkpoint_every=100000 \
      --set self_train.enabled=false --set sparsity.rate=0 --set train.lr=1e-3 >/dev/null
    cpp+=("$(tail -1 "$TMP/$transform$rep/logs/train.jsonl" | sed 's/.*"samples_per_s": \([0-9.]*\).*/\1/')")
    py+=("$(/usr/bin/python3 "$ROOT/tests/bench/bench_train_reference.py" "$STORE" --transform $transform \
      --steps $STEPS --threads 1 | sed 's/.*: \([0-9.]*\) samples.*/\1/')")
  done
  c=$(printf '%s\n' "${cpp[@]}" | median); p=$(printf '%s\n' "${py[@]}" | median)
  echo "$transform: C++ ${cpp[*]} samples/s (median $c), python3-torch ${py[*]} (median $p), ratio $(awk -v c=$c -v p=$p 'BEGIN{printf "%.2f", c/p}')"
done
