#!/usr/bin/env bash
# signal_ranks.sh RANKS WAIT_GLOB SIGNAL BIN ARGS... — starts `mpirun -n RANKS BIN ARGS...` in the background, waits
# until a file matching WAIT_GLOB exists, sends SIGNAL to the rank processes (as srun does: not to mpirun, which
# turns SIGTERM into SIGKILL after about a second), waits for the job, and prints its output followed by
# "signal_ranks: exit=<code> after=<seconds since the signal>". ARGS must contain "--run-dir DIR" with a DIR unique
# to the test: it is what identifies the rank processes. Gives up (kills everything, exit 124) after 180 s.
set -uo pipefail
RANKS="$1"; WAIT_GLOB="$2"; SIGNAL="$3"; BIN="$4"; shift 4
RUN_DIR=""
prev=""
for a in "$@"; do [[ "$prev" == "--run-dir" ]] && RUN_DIR="$a"; prev="$a"; done
[[ -n "$RUN_DIR" ]] || { echo "signal_ranks: ARGS need --run-dir DIR"; exit 2; }
# Independent MPI job: drop the variables of a surrounding mpiexec, if any.
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
FLAGS=(--oversubscribe --bind-to none)
[[ "$(id -u)" == 0 ]] && FLAGS+=(--allow-run-as-root)
OUT="$(mktemp)"
mpirun "${FLAGS[@]}" -n "$RANKS" "$BIN" "$@" >"$OUT" 2>&1 &
JOB=$!
pattern="^$BIN .*--run-dir $RUN_DIR( |$)"
deadline=$((SECONDS + 180))
until compgen -G "$WAIT_GLOB" >/dev/null; do
  if ! kill -0 "$JOB" 2>/dev/null; then
    wait "$JOB"; rc=$?
    cat "$OUT"; rm -f "$OUT"
    echo "signal_ranks: the job ended (exit $rc) before $WAIT_GLOB appeared"; exit 3
  fi
  if ((SECONDS > deadline)); then
    pkill -KILL -f "$pattern"; kill -KILL "$JOB"; cat "$OUT"; rm -f "$OUT"
    echo "signal_ranks: timed out waiting for $WAIT_GLOB"; exit 124
  fi
  sleep 0.05
done
start=$EPOCHREALTIME
pkill "-$SIGNAL" -f "$pattern"
wait "$JOB"; rc=$?
end=$EPOCHREALTIME
cat "$OUT"; rm -f "$OUT"
echo "signal_ranks: exit=$rc after=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
