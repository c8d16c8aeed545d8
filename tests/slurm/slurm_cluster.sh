# slurm_cluster.sh — a one-node SLURM cluster for tests, sourced by tests/slurm/test_*.sh (docs/operations.md,
# "SLURM"; the recipe is /work/shared/docs/ops-notes.md, "Single-node SLURM for tests"). As root, no systemd, no
# cgroups: munged (only when none answers already), slurmctld and slurmd run as plain background processes with a
# generated slurm.conf in a temporary folder, on free ports and under a cluster name of their own; the node offers
# 4 CPUs whatever the machine has (SlurmdParameters=config_overrides), so 2-4 one-CPU tasks fit on 2 cores.
#
#   source tests/slurm/slurm_cluster.sh
#   slurm_test_begin NAME          # $T, check, step (below)
#   slurm_cluster_start            # exports SLURM_CONF; installs an EXIT trap that calls slurm_cluster_stop
#   jid=$(sbatch --parsable ...)
#   slurm_wait_gone "$jid" 120     # until squeue no longer lists it (sbatch --wait returns 10-20 s late)
#   slurm_start_requeued "$jid" 30 # a job that requeued itself: start it now, once that is safe (below)
#   slurm_cluster_stop             # cancels every job, waits for an empty queue, stops the daemons by their pids
#
# Only what this file started is stopped, by pid, never by name: a munged that was already running stays.
# Two tests using it must not run at once (ctest RESOURCE_LOCK slurm): they would share munged and the CPUs.

SLURM_TEST_DIR=""
SLURM_TEST_TMP=""        # a test's own temporary folder (slurm_test_begin), removed at exit
SLURM_TEST_PIDS=()       # pids of the daemons this file started (slurmd, slurmctld, munged)
SLURM_TEST_MUNGED_PID=""

slurm__log() { echo "[slurm_cluster] $*" >&2; }

# Two free TCP ports on 127.0.0.1 (bound then released: a race with another program is possible but unlikely).
slurm__free_ports() {
  /usr/bin/python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

slurm__wait_pidfile() {  # slurm__wait_pidfile FILE SECONDS: prints the pid once the file holds a live one
  local f="$1" n=$(($2 * 20)) pid
  for ((i = 0; i < n; i++)); do
    if [[ -s "$f" ]]; then
      pid="$(tr -dc 0-9 < "$f")"
      if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
    fi
    sleep 0.05
  done
  return 1
}

# A test killed by ctest's timeout (SIGKILL) cannot run its EXIT trap, so its daemons and job steps outlive it and
# would share munged and the CPUs with the next test. Every start removes what a dead test left: each process whose
# command line or environment names the folder of a test whose owner pid is gone, then the folder.
slurm__reap_stale() {
  local dir owner p
  for dir in "${TMPDIR:-/tmp}"/s3e_slurm.*/; do
    [[ -f "$dir/owner.pid" ]] || continue
    owner="$(cat "$dir/owner.pid")"
    kill -0 "$owner" 2>/dev/null && continue
    dir="${dir%/}"
    for p in /proc/[0-9]*; do
      if grep -qsaF "$dir/" "$p/cmdline" || grep -qsaF "SLURM_CONF=$dir/slurm.conf" "$p/environ"; then
        slurm__log "removing pid ${p#/proc/} left by a dead test ($dir)"
        kill -KILL "${p#/proc/}" 2>/dev/null || true
      fi
    done
    rm -rf "$dir"
  done
}

slurm_cluster_start() {
  for v in $(env | grep -o '^\(SLURM\|SBATCH\|SRUN\|SALLOC\)_[A-Za-z0-9_]*'); do unset "$v"; done
  slurm__reap_stale
  SLURM_TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/s3e_slurm.XXXXXX")"
  chmod 755 "$SLURM_TEST_DIR"
  echo "$$" > "$SLURM_TEST_DIR/owner.pid"
  trap 'slurm__on_exit' EXIT
  local d="$SLURM_TEST_DIR"
  mkdir -p "$d/state" "$d/spool"

  # munge: reuse one that answers (another test's, or the system's); else start one and remember its pid.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge 2>/dev/null || true
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid --force || { slurm__log "munged did not start"; return 1; }
    SLURM_TEST_MUNGED_PID="$(slurm__wait_pidfile /run/munge/munged.pid 10)" || { slurm__log "munged wrote no pid"; return 1; }
    SLURM_TEST_PIDS+=("$SLURM_TEST_MUNGED_PID")
    for _ in $(seq 1 100); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.05; done
  fi

  local host ports ctld_port slurmd_port mem
  host="$(hostname -s)"
  read -r ctld_port slurmd_port <<<"$(slurm__free_ports)"
  mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
  cat > "$d/slurm.conf" <<EOF
ClusterName=s3etest$$
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
KillWait=5
MinJobAge=600
SchedulerParameters=sched_interval=1
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=4 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$d/slurm.conf"
  /usr/sbin/slurmctld -f "$SLURM_CONF" || { slurm__log "slurmctld did not start"; cat "$d/slurmctld.log" >&2; return 1; }
  local pid
  pid="$(slurm__wait_pidfile "$d/slurmctld.pid" 20)" || { slurm__log "slurmctld wrote no pid"; cat "$d/slurmctld.log" >&2; return 1; }
  SLURM_TEST_PIDS+=("$pid")
  /usr/sbin/slurmd -f "$SLURM_CONF" || { slurm__log "slurmd did not start"; cat "$d/slurmd.log" >&2; return 1; }
  pid="$(slurm__wait_pidfile "$d/slurmd.pid" 20)" || { slurm__log "slurmd wrote no pid"; cat "$d/slurmd.log" >&2; return 1; }
  SLURM_TEST_PIDS+=("$pid")
  for _ in $(seq 1 600); do
    [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && { slurm__log "up in $d (ports $ctld_port, $slurmd_port)"; return 0; }
    sleep 0.05
  done
  slurm__log "the node never became idle: $(sinfo -h -o '%T %E' 2>&1)"
  tail -20 "$d/slurmctld.log" "$d/slurmd.log" >&2
  return 1
}

slurm__on_exit() {
  slurm_cluster_stop
  if [[ -n "${SLURM_TEST_TMP:-}" && -z "${S3E_KEEP_TMP:-}" ]]; then rm -rf "$SLURM_TEST_TMP"; fi
  return 0
}

# The frame every test under tests/slurm shares. slurm_test_begin NAME: drops the MPI launcher variables of a
# calling job, makes the temporary folder $T (removed at exit with the cluster, unless S3E_KEEP_TMP is set) and the
# tally `check` and `step` report to; the test starts the cluster (slurm_cluster_start) when its fixtures are ready.
# slurm_test_end LABEL: stops the cluster, checks that none of its daemons is left, prints the tally; its status is
# the test's verdict.
slurm_test_begin() {
  local v
  for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
  T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_slurm_$1.XXXXXX")"
  SLURM_TEST_TMP="$T"
  trap 'slurm__on_exit' EXIT
  failures=0; passes=0; START=$SECONDS
}
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAILED: $1"; failures=$((failures + 1)); fi; }
step() { echo "== $* ($((SECONDS - START)) s)"; }
slurm_test_end() {
  local pids p alive=""
  pids="$(slurm_cluster_pids)"
  slurm_cluster_stop
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive+="$p "; done
  check "no daemon this test started is left (pids $pids)" '[[ -z "$alive" ]]'
  echo "$1: $passes passed, $failures failed ($((SECONDS - START)) s)"
  ((failures == 0))
}

# slurm_wait_gone_kicking SECONDS JOBID...: until squeue lists none of the jobs (array tasks included); a job that a
# requeue left waiting for its begin time (SLURM delays a requeued job by ~2 minutes) is started at once
# (slurm_start_requeued), as often as that happens. 1 on timeout.
slurm_wait_gone_kicking() {
  local end=$((SECONDS + $1)) ids j
  shift
  ids="$(IFS=,; echo "$*")"
  while ((SECONDS < end)); do
    [[ -z "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ]] && return 0
    for j in $(squeue -h -j "$ids" -t PENDING -o '%i %r' 2>/dev/null | awk '$2 == "BeginTime" {print $1}'); do
      slurm_start_requeued "$j" 30 || true
    done
    sleep 0.2
  done
  return 1
}

# slurm_start_requeued JOBID SECONDS (an array task's 123_4 too): starts a job requeued by `scontrol requeue` now
# instead of after SLURM's requeue delay (begin time = end of the requeue + the credential lifetime + 1 s), with
# `scontrol update JobId=X StartTime=now`, once that is safe; 1 when it is not within SECONDS. Three conditions:
# - the requeue has finished: the job is PENDING with reason BeginTime. SLURM sets the delayed begin time only when
#   the previous run's epilog completed (batch_requeue_fini), so a StartTime=now sent earlier would be overwritten.
# - no slurmstepd of the previous run is left (slurm_wait_steps_gone: its PMIx socket would still be bound).
# - the wall clock is past the second in which the job was seen pending again. The requeue revoked the job's
#   credential on slurmd at second R (the terminate request's time, before the job could become pending), and slurmd
#   refuses a launch credential created in that same second (ctime <= R: second resolution). A job started in it
#   ends at once: slurmctld.log "Killing non-startable batch JobId=N: Job credential revoked", slurmd.log "Job N
#   already killed, do not launch batch job"; the job leaves the queue as FAILED without running again and a merge
#   depending on it (afterok) never starts. SLURM's own delay exists for this; StartTime=now skips it.
slurm_start_requeued() {
  local end=$((SECONDS + $2)) seen
  until [[ "$(squeue -h -j "$1" -o '%T %r' 2>/dev/null | head -1)" == "PENDING BeginTime" ]]; do
    ((SECONDS < end)) || { slurm__log "job $1 is not waiting for its begin time: $(squeue -h -j "$1" -o '%T %r' 2>&1)"; return 1; }
    sleep 0.1
  done
  seen="$(date +%s)"
  slurm_wait_steps_gone "$1" $((end > SECONDS ? end - SECONDS : 1)) || { slurm__log "job $1: a step of its previous run is left"; return 1; }
  while (($(date +%s) <= seen)); do sleep 0.05; done
  scontrol update JobId="$1" StartTime=now
}

# The daemons' pids this file started (for a test to check they are gone).
slurm_cluster_pids() { echo "${SLURM_TEST_PIDS[@]}"; }

slurm_cluster_stop() {
  [[ -n "$SLURM_TEST_DIR" ]] || return 0
  local d="$SLURM_TEST_DIR"
  SLURM_TEST_DIR=""
  if [[ -n "${SLURM_CONF:-}" ]] && ((${#SLURM_TEST_PIDS[@]} > 0)); then
    local jobs
    jobs="$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')"
    if [[ -n "${jobs// /}" ]]; then
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 1 400); do [[ -z "$(squeue -h -o %A 2>/dev/null)" ]] && break; sleep 0.05; done
    fi
  fi
  # Newest first: slurmd, slurmctld, then munged if this file started it.
  local i pid
  for ((i = ${#SLURM_TEST_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${SLURM_TEST_PIDS[i]}"
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then slurm__log "pid $pid ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  done
  if [[ -n "$SLURM_TEST_MUNGED_PID" ]]; then rm -f /run/munge/munged.pid; fi
  [[ -n "${S3E_KEEP_TMP:-}" ]] && slurm__log "kept $d" || rm -rf "$d"
  return 0
}

# slurm_wait_gone JOBID SECONDS: until squeue no longer lists the job (array tasks included); 1 on timeout.
slurm_wait_gone() {
  local n=$(($2 * 10))
  for ((i = 0; i < n; i++)); do
    [[ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]] && return 0
    sleep 0.1
  done
  return 1
}

# slurm_wait_state JOBID STATE SECONDS: until the job (one array task: 123_4) is in STATE (RUNNING, PENDING...).
slurm_wait_state() {
  local n=$(($3 * 10))
  for ((i = 0; i < n; i++)); do
    [[ "$(squeue -h -j "$1" -o %T 2>/dev/null | head -1)" == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}

# slurm_job_field JOBID FIELD: a field of `scontrol show job` (ExitCode, Restarts, JobState, NumTasks...).
slurm_job_field() {
  scontrol -o show job "$1" 2>/dev/null | head -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# slurm_wait_steps_gone JOBID SECONDS (an array task's 123_4 too): until no slurmstepd of the job is left (a requeued job restarted at once, with
# `scontrol update JobId=X StartTime=now`, would otherwise find its previous step's PMIx socket still bound and fail
# to launch: SLURM's own requeue delay of ~2 minutes leaves that time).
slurm_wait_steps_gone() {
  local n=$(($2 * 10)) id
  id="$(slurm_job_field "$1" JobId)"; id="${id:-$1}"
  for ((i = 0; i < n; i++)); do
    [[ -z "$(slurm__own_steps "$id")" ]] && return 0
    sleep 0.1
  done
  return 1
}

# slurm__own_steps JOBID: pids of the job's slurmstepd processes under this cluster's slurmd (they inherit its
# SLURM_CONF): another cluster, of a test run elsewhere at the same time or of one that left a step behind, numbers
# its jobs from 1 too.
slurm__own_steps() {
  local p
  for p in $(pgrep -f "^slurmstepd: \[$1\." || true); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF" && echo "$p"
  done
  return 0
}
