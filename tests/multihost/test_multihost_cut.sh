#!/usr/bin/env bash
# A host cut off the network mid-run (netns_hosts.sh): `item-selftest` on 2 hosts x 1 rank; once both hosts have
# finished items, host b's end of the link is taken down from outside the job (packets stop, sockets stay open, as
# with a pulled cable or a dead switch port). The job must fail with exit 75 and an error naming the lost rank and
# its host, `error on rank 0 (heartbeat): lost rank 1 (host <b>): no heartbeat for ...`, after the heartbeat timeout
# and within the watchdog timeout of the cut. Without the heartbeat nothing would: rank 0 polls for the lost rank's
# requests (not a watched call) and would wait forever. Then a rerun on one host (2 ranks) finishes every item and
# leaves each done record of the cut run untouched (bytes and mtime).
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/netns_hosts.sh"
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_mh_cut.XXXXXX")"
MH_EXTRA_TRAP='rm -rf "$T"'
mh_setup
cd "$T"
ITEMS=24; WATCHDOG=20; HB_TIMEOUT=5
RUN=(item-selftest --run-dir "$T/run" --set selftest.items=$ITEMS --set selftest.ms_per_row=100
  --set dist.watchdog_s=$WATCHDOG --set dist.heartbeat_s=0.5 --set dist.heartbeat_timeout_s=$HB_TIMEOUT)
done_count() { compgen -G "$T/run/items/*.done.json" | wc -l; }
now() { date +%s.%N; }

rc_file="$T/cut.rc"
( rc=0; mh_mpirun 70 "a:1,b:1" "$BIN" "${RUN[@]}" --log-level info >"$T/cut.log" 2>&1 || rc=$?; echo "$rc" >"$rc_file" ) &
job=$!
# Cut once both hosts have committed items (so the rerun has finished work it must not redo).
deadline=$(( $(date +%s) + 60 ))
until (( $(done_count) >= 4 )) && grep -qs "\"host\": \"$MH_HOST_B\"" "$T"/run/items/*.done.json; do
  if ! kill -0 "$job" 2>/dev/null || (( $(date +%s) > deadline )); then
    echo "the run ended or stalled before both hosts finished items"; tail -30 "$T/cut.log"; exit 1
  fi
  sleep 0.1
done
cut_at="$(now)"
mh_cut_link b
mh_log "cut host b's link with $(done_count) of $ITEMS items done"
wait "$job" || true
ended_at="$(now)"
rc="$(cat "$rc_file")"
# Orphans of host b (its daemon cannot reach mpirun any more) die here, before the ledger is read.
mh_kill_all

error_line="$(grep -m1 "error on rank 0 (heartbeat): lost rank 1 (host $MH_HOST_B): no heartbeat for" "$T/cut.log" || true)"
mh_check "the job failed with exit 75 (requeue)" '(( rc == 75 )) || { echo "rc=$rc"; tail -30 "$T/cut.log"; false; }'
mh_check "the error names the lost rank and its host" '[[ -n "$error_line" ]] || { grep -i error "$T/cut.log" | head; false; }'
# The error line's own timestamp ([YYYY-mm-dd HH:MM:SS.mmm]) against the moment of the cut.
error_at="$(date -d "$(sed -E 's/^\[([^]]+)\].*/\1/' <<<"$error_line")" +%s.%N 2>/dev/null || echo 0)"
after="$(echo "$error_at - $cut_at" | bc)"
mh_log "error $after s after the cut, mpirun ended $(echo "$ended_at - $cut_at" | bc) s after it, exit $rc"
# Lower bound: the timeout less 2 s, since the last heartbeat rank 0 heard may predate the cut by an interval and
# any scheduling delay; a report triggered by anything but silence (the closed link) would come at once.
mh_check "reported after the heartbeat timeout ($HB_TIMEOUT s) and within the watchdog timeout ($WATCHDOG s) of the cut" \
  '(( $(echo "$after >= $HB_TIMEOUT - 2 && $after <= $WATCHDOG" | bc) )) || { echo "after=$after"; false; }'
mh_check "the heartbeat, not the watchdog, ended the job" '! grep -q "(watchdog)" "$T/cut.log"'
mh_check "the job ended within the watchdog timeout + 15 s of the cut" '(( $(echo "$ended_at - $cut_at <= $WATCHDOG + 15" | bc) ))'
mh_check "work was left for the rerun" '(( $(done_count) < ITEMS ))'

# Snapshot of the cut run's done records (content, size, mtime), then the rerun on host a alone.
before_n="$(done_count)"
mkdir "$T/snap"; cp -p "$T"/run/items/*.done.json "$T/snap/"
stat_before="$(cd "$T/run/items" && stat -c '%n %s %Y.%y' *.done.json)"
rc=0; mh_mpirun 70 "a:2" "$BIN" "${RUN[@]}" --log-level info >"$T/rerun.log" 2>&1 || rc=$?
mh_check "the rerun on one host exits 0" '(( rc == 0 )) || { tail -30 "$T/rerun.log"; false; }'
mh_check "the rerun ran on 1 node" 'grep -q "item-selftest on 2 rank(s), 1 node(s)" "$T/run/logs/item-selftest.rank00000.log"'
mh_check "every item is done" '(( $(done_count) == ITEMS ))'
mh_check "the rerun did only the missing items" \
  'grep -q "$ITEMS item(s): $((ITEMS - before_n)) done now, $before_n done before, 0 failed" "$T/rerun.log"'
unchanged=1
for f in "$T"/snap/*.done.json; do cmp -s "$f" "$T/run/items/$(basename "$f")" || { echo "changed: $f"; unchanged=0; }; done
mh_check "the cut run's done records are unchanged (bytes)" '(( unchanged == 1 ))'
mh_check "the cut run's done records are unchanged (size, mtime)" \
  '[[ "$stat_before" == "$(cd "$T/run/items" && stat -c "%n %s %Y.%y" $(cd "$T/snap" && ls))" ]]'
mh_check "no item failed, no temporaries left" \
  '! compgen -G "$T/run/items/*.failed.json" >/dev/null && [[ -z "$(find "$T/run" -name ".*.tmp.*" -print -quit)" ]]'
mh_summary "multihost cut"
