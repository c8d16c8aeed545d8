#!/usr/bin/env bash
# slurm/train.sbatch on a local one-node SLURM cluster (tests/slurm/slurm_cluster.sh; docs/operations.md, "SLURM").
#   test_slurm_train.sh BIN preempt: a 2-task training job preempted mid-run (scancel --signal=USR1 --batch: what
#     --signal=B:USR1@T sends) passes the signal to its ranks through srun, which checkpoint the same step and exit
#     75; the script requeues the job, which restarts (SLURM_RESTART_COUNT=1), resumes from that checkpoint and ends
#     with weights bit-identical to an uninterrupted 2-task job's.
#   test_slurm_train.sh BIN shrink: the same with train.global_batch_size, but while the job is requeued it is given
#     1 task instead of 2 (scontrol update JobId=X NumTasks=1 NumCPUs=1 NumNodes=1): it resumes on 1 rank from the
#     2-rank checkpoint and ends within 1e-5 (relative, per tensor) of an uninterrupted 1-task job.
# Both: the daemons this test started are gone at the end.
set -euo pipefail
BIN="$1"; MODE="$2"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/slurm_cluster.sh"
slurm_test_begin train
slurm_cluster_start
step "fixture: a small world and its classifier"
INI="$ROOT/jobs/chain_synth.ini"
"$BIN" synth --config "$INI" --run-dir "$T/synth" --set io.store="$T/world.h5" --set synth.num_samples=300 --log-level warn
"$BIN" train-classifier --config "$INI" --run-dir "$T/classifier" --set io.store="$T/world.h5" \
  --set io.classifier="$T/classifier.pt" --set classifier.steps=50 --log-level warn
# 600 steps of ~20 ms: long enough to be preempted after the checkpoint of step 100.
ARGS=(--config "$INI" --set io.store="$T/world.h5" --set io.classifier="$T/classifier.pt" --set train.steps=600
      --set train.checkpoint_every=50 --log-level info)
if [[ "$MODE" == shrink ]]; then ARGS+=(--set train.global_batch_size=64); fi
export S3E="$BIN" S3E_ROOT="$ROOT"
submit() {  # submit NAME NTASKS: a training job on run folder $T/NAME, its log $T/NAME.out; prints its id
  sbatch --parsable -n "$2" -o "$T/$1.out" --job-name="train-$1" "$ROOT/slurm/train.sbatch" "${ARGS[@]}" \
    --run-dir "$T/$1" --set io.editor="$T/$1/editor"
}
cd "$T"
if [[ "$MODE" == preempt ]]; then ref_tasks=2; else ref_tasks=1; fi
step "submit the uninterrupted job ($ref_tasks task(s)) and the one to preempt (2 tasks)"
ref=$(submit ref "$ref_tasks")
cut=$(submit cut 2)
for _ in $(seq 1 1200); do
  compgen -G "$T/cut/checkpoints/train/step_00000100" >/dev/null && break
  [[ -n "$(squeue -h -j "$cut" 2>/dev/null)" ]] || break
  sleep 0.05
done
check "the job reached the checkpoint of step 100 while running" \
  '[[ -d "$T/cut/checkpoints/train/step_00000100" && "$(squeue -h -j "$cut" -o %T)" == RUNNING ]]'
step "preempt: USR1 to the batch shell"
scancel --signal=USR1 --batch "$cut"
check "the job is requeued (pending again)" 'slurm_wait_state "$cut" PENDING 60'
check "its ranks stopped with exit 75 and the script requeued it" \
  'grep -q "exited 75" "$T/cut.out" && grep -q "requeueing job $cut" "$T/cut.out"'
stopped_at="$(sed -n 's/^step_0*//p' "$T/cut/checkpoints/train/latest" 2>/dev/null || true)"
check "the stop wrote a checkpoint mid-run (step $stopped_at of 600)" '((stopped_at >= 100 && stopped_at < 600))'
if [[ "$MODE" == shrink ]]; then
  step "while requeued: 1 task instead of 2"
  scontrol update JobId="$cut" NumTasks=1 NumCPUs=1 NumNodes=1
fi
# Else SLURM waits ~2 minutes before restarting a requeued job; started too soon it fails (slurm_cluster.sh).
check "the requeued job is started at once, its previous steps gone" 'slurm_start_requeued "$cut" 30'
check "both jobs end within 180 s" 'slurm_wait_gone "$cut" 180 && slurm_wait_gone "$ref" 180'
step "compare"
check "the preempted job ran twice (Restarts=1) and completed" \
  '[[ "$(slurm_job_field "$cut" Restarts)" == 1 && "$(slurm_job_field "$cut" JobState)" == COMPLETED ]]'
check "the restart saw SLURM_RESTART_COUNT=1 and resumed from step $stopped_at" \
  'grep -q "job $cut restart 1" "$T/cut.out" && grep -q "resuming from .*(step $stopped_at" "$T/cut/logs/train.rank00000.log"'
check "the uninterrupted job completed once" \
  '[[ "$(slurm_job_field "$ref" Restarts)" == 0 && "$(slurm_job_field "$ref" JobState)" == COMPLETED ]]'
check "the training log holds each step once" \
  '(( $(grep -c "\"step\"" "$T/cut/logs/train.jsonl") == $(grep -c "\"step\"" "$T/ref/logs/train.jsonl") ))'
if [[ "$MODE" == preempt ]]; then
  check "weights bit-identical to the uninterrupted job's" \
    '/usr/bin/python3 "$HERE/compare_weights.py" "$T/ref/editor/editor_weights.pt" "$T/cut/editor/editor_weights.pt"'
else
  check "the restart ran on 1 rank" 'grep -q "job $cut restart 1 .* on 1 rank" "$T/cut.out"'
  check "weights within 1e-5 of the uninterrupted 1-task job's" \
    '/usr/bin/python3 "$HERE/compare_weights.py" "$T/ref/editor/editor_weights.pt" "$T/cut/editor/editor_weights.pt" 1e-5'
fi
if ((failures)); then tail -n 30 "$T/cut.out" "$T/ref.out"; fi
step "stop the cluster"
slurm_test_end "slurm train ($MODE)"
