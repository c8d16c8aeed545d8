#!/usr/bin/env bash
# The item runner end to end through `s3editor item-selftest` under real mpirun (docs/operations.md):
#  1. kill -9 at a third on 2 ranks, rerun on 1 rank killed at two thirds, finish on 4 ranks: every output and the
#     index equal an uninterrupted run's byte for byte, and every done record written before a kill is unchanged;
#     a further run does nothing;
#  2. SIGTERM to the rank processes: exit 75, no temporary file left, the rerun completes with the same bytes;
#  3. a failing item is recorded with its reason (exit 3, failed.csv) while the others complete; a rerun leaves it
#     alone; --retry-failed redoes only it;
#  4. a second run on a folder in use exits 2 naming the holder's host and pid.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; SIGNAL_RANKS="$HERE/../common/signal_ranks.sh"
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_item_resume.XXXXXX")"
cleanup() { pkill -KILL -f "^$BIN item-selftest --run-dir $T/" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
FLAGS=(--oversubscribe --bind-to none); [[ "$(id -u)" == 0 ]] && FLAGS+=(--allow-run-as-root)
ITEMS=24
COMMON=(--set selftest.items=$ITEMS --set selftest.ms_per_row=25)
failures=0; passes=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAILED: $1"; failures=$((failures + 1)); fi; }
# run NP DIR [args]: LOG=info run ... to see the run's summary lines.
run() { local np="$1" dir="$2"; shift 2; mpirun "${FLAGS[@]}" -n "$np" "$BIN" item-selftest --run-dir "$dir" "${COMMON[@]}" --log-level "${LOG:-warn}" "$@"; }
done_count() { compgen -G "$1/items/*.done.json" | wc -l; }
# Runs on NP ranks until at least K items are done, then kills every rank with SIGKILL (a node lost, an OOM kill).
kill_at() {
  local np="$1" dir="$2" k="$3"
  run "$np" "$dir" >"$dir.log" 2>&1 &
  local job=$!
  until (( $(done_count "$dir") >= k )); do
    kill -0 "$job" 2>/dev/null || { echo "run on $np ranks ended before $k items were done"; cat "$dir.log"; exit 1; }
    sleep 0.02
  done
  pkill -KILL -f "^$BIN item-selftest --run-dir $dir( |$)" || true
  wait "$job" || true
}
same_outputs() {  # same item files and index, byte for byte
  local a="$1" b="$2"
  diff <(cd "$a/rows" && ls) <(cd "$b/rows" && ls) >/dev/null || return 1
  for f in "$a"/rows/*.h5; do cmp -s "$f" "$b/rows/$(basename "$f")" || { echo "differs: $f"; return 1; }; done
  cmp -s "$a/selftest.h5" "$b/selftest.h5"
}
no_temporaries() { [[ -z "$(find "$1" -name '.*.tmp.*' -print -quit)" ]]; }

# Reference: one uninterrupted run.
mkdir -p "$T"
run 1 "$T/ref" >/dev/null
check "reference run has all items" '(( $(done_count "$T/ref") == ITEMS ))'

# 1. Killed at a third (2 ranks), at two thirds (1 rank), finished on 4 ranks.
kill_at 2 "$T/cut" $((ITEMS / 3))
mkdir -p "$T/snap1"; cp -p "$T"/cut/items/*.done.json "$T/snap1/"
check "some items done after the first kill" '(( $(done_count "$T/cut") >= ITEMS / 3 && $(done_count "$T/cut") < ITEMS ))'
kill_at 1 "$T/cut" $((2 * ITEMS / 3))
mkdir -p "$T/snap2"; cp -p "$T"/cut/items/*.done.json "$T/snap2/"
check "not finished after the second kill" '(( $(done_count "$T/cut") < ITEMS ))'
run 4 "$T/cut" >/dev/null
check "4-rank rerun finishes every item" '(( $(done_count "$T/cut") == ITEMS ))'
check "outputs equal the uninterrupted run byte for byte" 'same_outputs "$T/ref" "$T/cut"'
for snap in snap1 snap2; do
  for f in "$T/$snap"/*.done.json; do
    check "done record $(basename "$f") unchanged since $snap" 'cmp -s "$f" "$T/cut/items/$(basename "$f")"'
  done
done
check "no temporaries after the kills and the rerun" 'no_temporaries "$T/cut"'
before="$(cd "$T/cut" && find items rows selftest.h5 -type f -exec sha256sum {} + | sort)"
out="$(LOG=info run 2 "$T/cut" 2>&1)"
after="$(cd "$T/cut" && find items rows selftest.h5 -type f -exec sha256sum {} + | sort)"
check "a further run redoes nothing" '[[ "$before" == "$after" ]] && grep -q "0 done now, $ITEMS done before" <<<"$out"'
status="$("$BIN" status "$T/cut")"
check "status counts every item done and the lock free" 'grep -q "item-selftest items: $ITEMS done, 0 failed, 0 pending of $ITEMS" <<<"$status" && grep -q "lock: free" <<<"$status"'

# 2. SIGTERM to the rank processes: exit 75 quickly, no temporaries, the rerun completes with the same bytes.
sig="$("$SIGNAL_RANKS" 2 "$T/term/items/item_*.done.json" TERM "$BIN" item-selftest --run-dir "$T/term" "${COMMON[@]}" 2>&1 || true)"
check "SIGTERM: exit 75 within 10 s" 'grep -qE "signal_ranks: exit=75 after=[0-9]\.[0-9]+" <<<"$sig"'
check "SIGTERM: the error says why and how to resume" 'grep -q "stopped by SIGTERM" <<<"$sig"'
check "SIGTERM: some items left" '(( $(done_count "$T/term") < ITEMS ))'
check "SIGTERM: no temporary file left" 'no_temporaries "$T/term"'
run 2 "$T/term" >/dev/null
check "SIGTERM: the rerun completes with the same bytes" 'same_outputs "$T/ref" "$T/term"'

# 3. A failing item.
set +e; out="$(run 2 "$T/fail" --set selftest.fail_ids=item_0003 2>&1)"; rc=$?; set -e
check "failing item: exit 3" '(( rc == 3 ))'
check "failing item: the others complete" '(( $(done_count "$T/fail") == ITEMS - 1 ))'
check "failing item: failed.csv names it with its reason" 'grep -q "^item_0003,.*injected failure" "$T/fail/failed.csv"'
failed_before="$(cat "$T/fail/items/item_0003.failed.json")"
set +e; run 1 "$T/fail" --set selftest.fail_ids=item_0003 >/dev/null 2>&1; rc=$?; set -e
check "failing item: a plain rerun leaves it failed (exit 3, record unchanged)" '(( rc == 3 )) && [[ "$failed_before" == "$(cat "$T/fail/items/item_0003.failed.json")" ]]'
others="$(cd "$T/fail/items" && sha256sum $(ls | grep done.json))"
out="$(LOG=info run 2 "$T/fail" --retry-failed 2>&1)"
check "--retry-failed redoes only it" 'grep -q "1 done now" <<<"$out" && (( $(done_count "$T/fail") == ITEMS )) && [[ "$others" == "$(cd "$T/fail/items" && sha256sum $(ls | grep done.json | grep -v item_0003))" ]]'
check "--retry-failed: failed.csv removed, outputs equal the reference" '[[ ! -e "$T/fail/failed.csv" ]] && same_outputs "$T/ref" "$T/fail"'

# 4. The run lock.
run 1 "$T/locked" --set selftest.ms_per_row=200 >/dev/null 2>&1 &
holder=$!
until [[ -s "$T/locked/.lock" ]] && "$BIN" status "$T/locked" | grep -q "lock: held"; do sleep 0.05; done
set +e; out="$("$BIN" item-selftest --run-dir "$T/locked" "${COMMON[@]}" 2>&1)"; rc=$?; set -e
check "a second run on a locked folder exits 2" '(( rc == 2 ))'
check "the refusal names the holder host and pid" 'grep -q "in use by another run: host $(hostname), pid [0-9]" <<<"$out"'
pkill -KILL -f "^$BIN item-selftest --run-dir $T/locked( |$)" || true
wait "$holder" 2>/dev/null || true

echo "item resume: $passes passed, $failures failed"
(( failures == 0 ))
