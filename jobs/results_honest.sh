#!/usr/bin/env bash
# Reproduces docs/results.md section 7: the honest synthetic world (configs/synth_honest.ini resized by
# configs/results/honest_world.ini), one classifier, and four tables:
#   equal     every method at the same budget (configs/methods/common.ini: 300 steps x 64), seeds S3E_SEEDS
#   converged the learned methods trained for 10x the equal budget, Latent Transformer for its own budget and for
#             3x it (lt_3x), with curves and the convergence verdict (jobs/convergence.py, docs/results/curves/)
#   unseen2   attributes 32-39 unseen by the editor and by its classifier: their embedding from a second classifier
#             trained on the other half of the training rows
#   (matched-success tables are read from the same runs: every edit is a curve over strengths)
# Resumable: a finished run (its eval/metrics.json) is skipped.
#   S3E_RESULTS_DIR (default runs/honest), S3E_RANKS (2), S3E_SEEDS ("1 2"), S3E_PHASES ("equal converged unseen2")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
RUN="${S3E_RESULTS_DIR:-$ROOT/runs/honest}"
RANKS="${S3E_RANKS:-2}"
SEEDS="${S3E_SEEDS:-1 2}"
PHASES="${S3E_PHASES:-equal converged unseen2}"
MPI="$ROOT/jobs/mpi_launch.sh $RANKS"
WORLD=(--config configs/synth_honest.ini --config configs/results/honest_world.ini)
STORE="$RUN/store/synth.h5"
CLASSIFIER="$RUN/classifier/classifier.pt"
STRENGTHS="0.25,0.5,0.75,1,1.5,2,3"   # every edit is a curve: the tables read strength 1 and matched success
MATCH="0.5,0.8"
EQUAL_METHODS="linear linear_masked linear_orthogonal lt s3editor s3editor_scratch s3editor_block"
# Latent Transformer's budget (docs/algorithms.md): 10 epochs per attribute = 10 N / B steps per attribute for
# N = 1800 training rows (2000 x 0.9) at the global batch B = 64, for each of the 32 training attributes.
LT_STEPS=$(( 32 * ((10 * 1800 + 63) / 64) ))
CONVERGED_STEPS=3000                    # the region-MLP editors: 10x the equal-samples budget

# method_config NAME -> the --config arguments of a method (s3editor_scratch is an ablation on top of s3editor).
method_config() {
  case "$1" in
    s3editor_scratch | s3editor_block) echo "--config configs/methods/s3editor.ini --config configs/methods/$1.ini" ;;
    lt_3x) echo "--config configs/methods/lt.ini" ;;
    *) echo "--config configs/methods/$1.ini" ;;
  esac
}

# run_method DIR METHOD SEED [train args...]: train, edit (a strength curve on the held-out rows), eval-latent.
run_method() {
  local dir="$1" method="$2" seed="$3"; shift 3
  [[ -f "$dir/eval/metrics.json" ]] && return 0
  echo "=== $(date +%H:%M:%S) ${dir#$RUN/} ==="
  local start; start=$(date +%s)
  # shellcheck disable=SC2046
  $MPI "$S3E" train --config configs/methods/common.ini $(method_config "$method") --seed "$seed" --store "$STORE" \
    --classifier "${TRAIN_CLASSIFIER:-$CLASSIFIER}" --run-dir "$dir" --log-level warn "$@"
  $MPI "$S3E" edit --config configs/methods/common.ini --store "$STORE" --editor "$dir/editor" \
    --protocol flip-each --rows heldout --strengths "$STRENGTHS" --run-dir "$dir/edit" --log-level warn
  "$S3E" eval-latent --edited "$dir/edit/edited.h5" --set eval.match_success="$MATCH" --run-dir "$dir/eval" \
    --log-level warn >/dev/null
  echo "$(( $(date +%s) - start ))" > "$dir/seconds.txt"
}

$MPI "$S3E" synth "${WORLD[@]}" --run-dir "$RUN" --log-level warn
[[ -f "$CLASSIFIER" ]] || $MPI "$S3E" train-classifier --config configs/results/classifier.ini --store "$STORE" \
  --run-dir "$RUN" --log-level warn

if [[ " $PHASES " == *" equal "* ]]; then
  for seed in $SEEDS; do                # seeds outermost: an interrupted run has every method at the first seeds
    for method in $EQUAL_METHODS; do run_method "$RUN/equal/$method/seed$seed" "$method" "$seed"; done
  done
fi

if [[ " $PHASES " == *" converged "* ]]; then
  for method in s3editor s3editor_scratch lt lt_3x; do
    case $method in lt) steps=$LT_STEPS ;; lt_3x) steps=$((3 * LT_STEPS)) ;; *) steps=$CONVERGED_STEPS ;; esac
    run_method "$RUN/converged/$method/seed1" "$method" 1 --set train.steps="$steps" --set train.log_every=5 \
      --set train.checkpoint_every=1000
  done
fi

if [[ " $PHASES " == *" unseen2 "* ]]; then
  # The editor's classifier never sees attributes 32-39 (their loss is masked) and is trained on the first half of
  # the training rows; their embedding comes from a second classifier trained on the other half.
  BLIND="$RUN/unseen2/classifier_blind/classifier/classifier.pt"
  OTHER="$RUN/unseen2/classifier_other/classifier/classifier.pt"
  [[ -f "$BLIND" ]] || $MPI "$S3E" train-classifier --config configs/results/classifier.ini --store "$STORE" \
    --set classifier.ignore_attributes=32-39 --set classifier.rows=0-0.5 --run-dir "$RUN/unseen2/classifier_blind" \
    --log-level warn
  [[ -f "$OTHER" ]] || $MPI "$S3E" train-classifier --config configs/results/classifier.ini --store "$STORE" \
    --set classifier.rows=0.5-1 --run-dir "$RUN/unseen2/classifier_other" --log-level warn
  for seed in $SEEDS; do
    for method in linear s3editor; do
      TRAIN_CLASSIFIER="$BLIND" run_method "$RUN/unseen2/$method/seed$seed" "$method" "$seed" \
        --set editor.embedding_classifier="$OTHER" --set editor.embedding_attributes=32-39
    done
  done
fi

{
  echo "## equal samples"; /usr/bin/python3 jobs/results_table.py "$RUN/equal" $EQUAL_METHODS
  echo; /usr/bin/python3 jobs/results_table.py "$RUN/equal" $EQUAL_METHODS --matched 0.8
  if [[ -d "$RUN/converged" ]]; then
    echo; echo "## converged"; /usr/bin/python3 jobs/results_table.py "$RUN/converged" s3editor s3editor_scratch lt lt_3x
    echo; /usr/bin/python3 jobs/results_table.py "$RUN/converged" s3editor s3editor_scratch lt lt_3x --matched 0.8
    echo; /usr/bin/python3 jobs/convergence.py --svg-dir docs/results/curves "$RUN/converged/s3editor/seed1" \
      "$RUN/converged/s3editor_scratch/seed1" "$RUN/converged/lt/seed1:32" "$RUN/converged/lt_3x/seed1:32"
  fi
  if [[ -d "$RUN/unseen2" ]]; then
    echo; echo "## unseen by the classifier too"; /usr/bin/python3 jobs/results_table.py "$RUN/unseen2" linear s3editor
  fi
} | tee "$RUN/results.md"
