# slurm/common.sh — helpers the sbatch scripts of slurm/ source (docs/operations.md, "SLURM"). A batch script runs
# from a copy in SLURM's spool folder, so the scripts find this file and the binary through S3E_ROOT (default: the
# folder sbatch was called from, SLURM_SUBMIT_DIR, which should be a checkout of s3editor) and S3E (default
# $S3E_ROOT/build/bin/s3editor, else s3editor on PATH).

s3e_setup() {
  S3E_ROOT="${S3E_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}"
  if [[ -z "${S3E:-}" ]]; then
    if [[ -x "$S3E_ROOT/build/bin/s3editor" ]]; then S3E="$S3E_ROOT/build/bin/s3editor"; else S3E="$(command -v s3editor || true)"; fi
  fi
  [[ -n "$S3E" && -x "$S3E" ]] || { echo "s3e: no s3editor binary (set S3E=/path/to/s3editor or S3E_ROOT)" >&2; exit 2; }
  cd "${SLURM_SUBMIT_DIR:-$PWD}" || exit 2
  # One writer per HDF5 file already; file locking breaks on some parallel filesystems (Lustre without flock).
  export HDF5_USE_FILE_LOCKING="${HDF5_USE_FILE_LOCKING:-FALSE}"
  export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
}

# The rank count: SLURM_NTASKS, but no more than the CPUs the job holds now divided by --cpus-per-task. A job updated
# while pending (scontrol update JobId=X NumTasks=1 NumCPUs=1 NumNodes=1) restarts with fewer CPUs but keeps the
# SLURM_NTASKS of its submission, and srun would refuse to start that many. S3E_RANKS overrides both.
s3e_ranks() {
  if [[ -n "${S3E_RANKS:-}" ]]; then echo "$S3E_RANKS"; return; fi
  local tasks="${SLURM_NTASKS:-1}" per="${SLURM_CPUS_PER_TASK:-1}" cpus=0 part n r
  local IFS=,
  for part in ${SLURM_JOB_CPUS_PER_NODE:-}; do
    if [[ "$part" =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then n="${BASH_REMATCH[1]}"; r="${BASH_REMATCH[2]}"; else n="$part"; r=1; fi
    cpus=$((cpus + n * r))
  done
  if ((cpus > 0 && cpus / per < tasks)); then tasks=$((cpus / per)); fi
  ((tasks >= 1)) || tasks=1
  echo "$tasks"
}

# s3e_run_step CMD...: runs a job step in the background and waits, so that the batch shell's traps run while it
# works (bash runs a trap only between commands: a foreground srun would delay it to the step's end). The first
# USR1 or TERM the batch shell gets is passed on to the step (srun signals every task: trainers checkpoint the same
# step on every rank and exit 75; item stages abandon the item in hand and exit 75); later ones are only logged,
# because a second stop signal ends s3editor at once without a checkpoint, and a job cancelled or preempted as a
# whole has its tasks signalled by SLURM itself too. Sets S3E_RC to the step's exit code.
s3e_run_step() {
  S3E_STEP_PID=""
  S3E_FORWARDED=""
  trap 's3e__forward USR1' USR1
  trap 's3e__forward TERM' TERM
  "$@" &
  S3E_STEP_PID=$!
  S3E_RC=0
  while :; do
    wait "$S3E_STEP_PID"; S3E_RC=$?
    # wait returns > 128 when a trapped signal interrupted it: the step is still running, wait again.
    kill -0 "$S3E_STEP_PID" 2>/dev/null || break
  done
  trap - USR1 TERM
}

s3e__forward() {
  local sig="$1"
  if [[ -n "$S3E_FORWARDED" ]]; then
    echo "s3e: SIG$sig received; SIG$S3E_FORWARDED already passed on, the step is stopping" >&2
    return
  fi
  S3E_FORWARDED="$sig"
  echo "s3e: SIG$sig received at $(date +%T): passing it on to the step (pid $S3E_STEP_PID) to stop at a checkpoint" >&2
  [[ -n "$S3E_STEP_PID" ]] && kill -s "$sig" "$S3E_STEP_PID" 2>/dev/null
}

# s3e_file_state FILE: "inode mtime size" of FILE, "" when it is absent. Stages commit their manifest by a rename
# (a new inode each time), so a state that did not change means the step never wrote it.
s3e_file_state() { stat -c '%i %Y %s' "$1" 2>/dev/null || true; }

# s3e_check_completed MANIFEST [STATE_BEFORE]: srun can exit 0 when its step failed to launch (seen when a requeued
# job restarts while its previous step's PMIx socket is still bound, and as "task 0 launch failed: Unspecified error"
# on a loaded node): when S3E_RC is 0 but the stage's manifest is missing, unchanged since STATE_BEFORE (its
# s3e_file_state taken before the step, when given: a manifest of an earlier run) or does not say it completed,
# S3E_RC becomes 200 (a lost step: requeued like a killed one).
s3e_check_completed() {
  ((S3E_RC == 0)) || return 0
  local why=""
  if [[ ! -f "$1" ]]; then why="there is no $1"
  elif (($# > 1)) && [[ "$(s3e_file_state "$1")" == "$2" ]]; then why="$1 was not rewritten"
  elif ! grep -qE '"outcome": "(completed|items failed)"' "$1"; then why="$1 does not say the stage completed"
  fi
  if [[ -n "$why" ]]; then
    echo "s3e: srun exited 0 but $why (the step did not run?): exit 200" >&2
    S3E_RC=200
  fi
}

# s3e_requeue_or_exit RC: exit 75 (stopped: checkpoint written, items kept) requeues this job (or array task); so
# does a step killed by a signal (128+N: a node or process lost), at most S3E_MAX_REQUEUES (3) times in a row.
# Other codes end the job with that code (0 done, 2 usage, 3 bad data: docs/cli.md).
s3e_requeue_or_exit() {
  local rc="$1" restarts="${SLURM_RESTART_COUNT:-0}" id="${SLURM_JOB_ID:-}"
  [[ -n "${SLURM_ARRAY_JOB_ID:-}" ]] && id="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  local again=""
  if ((rc == 75)); then again="stopped with a checkpoint (exit 75)"
  elif ((rc > 128)) && ((restarts < ${S3E_MAX_REQUEUES:-3})); then again="killed (exit $rc), restart $((restarts + 1)) of ${S3E_MAX_REQUEUES:-3}"
  fi
  if [[ -n "$again" && -n "$id" ]]; then
    echo "s3e: $again: requeueing job $id; its rerun resumes (SLURM_RESTART_COUNT=$((restarts + 1)))"
    scontrol requeue "$id" && exit "$rc"
    echo "s3e: scontrol requeue $id failed: rerun the job by hand to resume" >&2
  fi
  exit "$rc"
}

# s3e_split_args ARGS...: S3E_ARGS = ARGS without --run-dir/--out (both `--opt V` and `--opt=V`), S3E_RUN_DIR and
# S3E_OUT their values ("" when absent). Array tasks work in <run>/tasks/<i>/ and write their partial index there;
# the merge writes the index where the user asked.
s3e_split_args() {
  S3E_ARGS=(); S3E_RUN_DIR=""; S3E_OUT=""
  while (($#)); do
    case "$1" in
      --run-dir) S3E_RUN_DIR="${2:-}"; shift 2 || shift ;;
      --run-dir=*) S3E_RUN_DIR="${1#--run-dir=}"; shift ;;
      --out) S3E_OUT="${2:-}"; shift 2 || shift ;;
      --out=*) S3E_OUT="${1#--out=}"; shift ;;
      *) S3E_ARGS+=("$1"); shift ;;
    esac
  done
}

# The item stages a job array can run over shards (--shard I/N, then --merge-tasks; docs/operations.md, "SLURM").
S3E_ITEM_STAGES="ingest edit eval item-selftest"

# s3e_pick_stage ARGS...: S3E_STAGE = the first argument when it names an item stage (which is then dropped), else
# $S3E_STAGE from the environment, else edit (what slurm/merge.sbatch did before it served every item stage); the
# remaining arguments in S3E_STAGE_ARGS. Exits 2 for an unknown stage or an argument that contradicts $S3E_STAGE.
s3e_pick_stage() {
  local env_stage="${S3E_STAGE:-}" s
  S3E_STAGE_ARGS=("$@")
  if (($#)) && [[ " $S3E_ITEM_STAGES " == *" $1 "* ]]; then
    if [[ -n "$env_stage" && "$env_stage" != "$1" ]]; then
      echo "s3e: stage '$1' given as the first argument but S3E_STAGE=$env_stage: give one of them" >&2; exit 2
    fi
    S3E_STAGE="$1"; S3E_STAGE_ARGS=("${@:2}")
  else
    S3E_STAGE="${env_stage:-edit}"
  fi
  if [[ " $S3E_ITEM_STAGES " != *" $S3E_STAGE "* ]]; then
    echo "s3e: S3E_STAGE=$S3E_STAGE is not an item stage (one of: $S3E_ITEM_STAGES)" >&2; exit 2
  fi
}

# s3e_stage_output STAGE: the file name of the stage's index (its --out default under the run folder: ingest's
# latent store, edit's edited store, eval's metrics JSON with its CSV next to it); "" for a stage without --out.
s3e_stage_output() {
  case "$1" in
    ingest) echo store.h5 ;;
    edit) echo edited.h5 ;;
    eval) echo metrics.json ;;
    *) echo "" ;;
  esac
}
