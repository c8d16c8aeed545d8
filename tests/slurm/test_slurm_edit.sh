#!/usr/bin/env bash
# Bulk `edit --store` as a SLURM job array (slurm/submit_edit.sh -> slurm/edit_array.sbatch + slurm/merge.sbatch) on a
# local one-node cluster (tests/slurm/slurm_cluster.sh; docs/operations.md, "SLURM"):
# - 3 array tasks edit shards 0/3, 1/3, 2/3 of 15 items, each in <run>/tasks/<i>/; task 1's s3editor is killed with
#   SIGKILL after 2 of its 5 items: the task requeues itself, its rerun skips the 2 finished items (their done
#   records unchanged) and does the rest; every item is done exactly once over all tasks;
# - the merge job (afterok on the array) gathers the tasks and writes <run>/edited.h5: byte-identical to the index of
#   an unsharded run of the same edit, every item file too;
# - the merge refuses (exit 2, naming the task folder) an incomplete task, a doubled shard and a missing one;
# - the daemons this test started are gone at the end.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"; FIX="$ROOT/tests/fixtures/eval_latent_v1"
source "$HERE/slurm_cluster.sh"
slurm_test_begin edit
slurm_cluster_start
cd "$T"
step "fixture: the world of tests/fixtures/eval_latent_v1 and an unsharded reference edit"
"$BIN" synth --config "$ROOT/configs/demo/train_world.ini" --set synth.num_samples=600 --set synth.channels=32 \
  --run-dir "$T/synth" --out "$T/world.h5" --log-level warn
# 600 rows in 15 items of 40 (5 per shard), 2 batches of 20 per item, 150 ms after each batch: a kill lands mid-task.
EDIT=(--store "$T/world.h5" --editor "$FIX/s3editor" --classifier "$FIX/classifier.pt" --protocol flip-each
      --strengths 0.5,1 --rows all --set edit.rows_per_item=40 --set edit.batch_size=20 --log-level warn)
"$BIN" edit "${EDIT[@]}" --run-dir "$T/ref"
ITEMS=15

step "submit the array of 3 and the merge"
export S3E="$BIN" S3E_ROOT="$ROOT"
out="$("$ROOT/slurm/submit_edit.sh" 3 --run-dir "$T/run" "${EDIT[@]}" --set edit.test_delay_ms=150)"
echo "$out"
arr="$(sed -n 's/^array job \([0-9]*\):.*/\1/p' <<<"$out")"
merge="$(sed -n 's/^merge job \([0-9]*\) .*/\1/p' <<<"$out")"
check "submit_edit.sh prints both job ids and the outputs' places" \
  '[[ -n "$arr" && -n "$merge" ]] && grep -q "$T/run/tasks/<i>/" <<<"$out" && grep -q "index $T/run/edited.h5" <<<"$out"'
done_count() { compgen -G "$1/items/*.done.json" | wc -l; }
for _ in $(seq 1 1200); do
  (( $(done_count "$T/run/tasks/1") >= 2 )) && break
  sleep 0.05
done
pid="$(pgrep -f "^$BIN edit .*--run-dir $T/run/tasks/1( |$)" | head -1 || true)"
check "array task 1 is running with 2 items done" '[[ -n "$pid" ]] && (( $(done_count "$T/run/tasks/1") >= 2 && $(done_count "$T/run/tasks/1") < 5 ))'
mkdir -p "$T/snap"; cp -p "$T"/run/tasks/1/items/*.done.json "$T/snap/"
step "SIGKILL to array task 1's s3editor (pid $pid)"
kill -KILL "$pid" 2>/dev/null || true
check "task 1 requeued itself (pending again)" 'slurm_wait_state "${arr}_1" PENDING 60'
check "task 1's log says it was killed and requeued" 'grep -q "killed (exit 137)" "$T/run/slurm/edit_${arr}_1.out" && grep -q "requeueing job ${arr}_1" "$T/run/slurm/edit_${arr}_1.out"'
# Start whatever a requeue left waiting for its begin time (slurm_start_requeued), until the jobs are gone.
check "the array and the merge end within 120 s (the requeued task started at once)" \
  'slurm_wait_gone_kicking 120 "$arr" "$merge"'

step "check"
check "every array task completed, task 1 after one restart" \
  '[[ "$(slurm_job_field "${arr}_0" JobState) $(slurm_job_field "${arr}_1" JobState) $(slurm_job_field "${arr}_2" JobState)" == "COMPLETED COMPLETED COMPLETED" && "$(slurm_job_field "${arr}_1" Restarts)" == 1 ]]'
check "the merge job completed" '[[ "$(slurm_job_field "$merge" JobState)" == COMPLETED ]] || { cat "$T"/run/slurm/merge_*.out; false; }'
ids="$(cd "$T/run/tasks" && ls */items/*.done.json | sed 's|.*/||' | sort)"
check "every item done exactly once over the tasks ($(wc -l <<<"$ids") records)" \
  '[[ "$(wc -l <<<"$ids")" == $ITEMS && -z "$(uniq -d <<<"$ids")" ]]'
check "each task did its round-robin shard (task 1: items 1, 4, 7, 10, 13)" \
  '[[ "$(cd "$T/run/tasks/1/items" && ls *.done.json | tr "\n" " ")" == "rows_000001.done.json rows_000004.done.json rows_000007.done.json rows_000010.done.json rows_000013.done.json " ]]'
for f in "$T"/snap/*.done.json; do
  check "done record $(basename "$f") written before the kill is unchanged" 'cmp -s "$f" "$T/run/tasks/1/items/$(basename "$f")"'
done
check "no temporaries left" '[[ -z "$(find "$T/run" -name ".*.tmp.*" -print -quit)" ]]'
check "the merged index equals the unsharded run's, byte for byte" 'cmp "$T/ref/edited.h5" "$T/run/edited.h5"'
same=0; for f in "$T"/ref/edited_rows/*.h5; do cmp -s "$f" "$T/run/edited_rows/$(basename "$f")" && same=$((same + 1)); done
check "every item file of the merged run equals the unsharded run's ($same of $ITEMS)" '((same == ITEMS))'
check "status of the merged run: $ITEMS done" \
  '"$BIN" status "$T/run" | grep -q "edit items: $ITEMS done, 0 failed, 0 pending of $ITEMS"'

step "refusals (no SLURM needed)"
refuse() {  # refuse NAME PATTERN: the merge in $T/NAME exits 2 with PATTERN in its message
  local rc=0
  "$BIN" edit "${EDIT[@]}" --merge-tasks --run-dir "$T/$1" > "$T/$1.log" 2>&1 || rc=$?
  ((rc == 2)) && grep -q "$2" "$T/$1.log" || { echo "rc=$rc"; cat "$T/$1.log"; false; }
}
mkdir -p "$T/bad1/tasks"; cp -r "$T/run/tasks/0" "$T/run/tasks/1" "$T/run/tasks/2" "$T/bad1/tasks/"
rm "$T/bad1/tasks/2/items/rows_000005.done.json"
check "an incomplete task: exit 2 naming its folder and the item" 'refuse bad1 "$T/bad1/tasks/2 is incomplete: 1 of 5 item(s) of shard 2/3 not done (rows_000005)"'
mkdir -p "$T/bad2/tasks"; cp -r "$T/run/tasks/0" "$T/run/tasks/1" "$T/run/tasks/2" "$T/bad2/tasks/"; cp -r "$T/run/tasks/1" "$T/bad2/tasks/3"
check "a doubled shard: exit 2 naming both folders" 'refuse bad2 "$T/bad2/tasks/1 and $T/bad2/tasks/3 both ran shard 1/3"'
mkdir -p "$T/bad3/tasks"; cp -r "$T/run/tasks/0" "$T/run/tasks/2" "$T/bad3/tasks/"
check "a missing shard: exit 2 naming it" 'refuse bad3 "no task folder ran shard 1/3"'

if ((failures)); then tail -n 20 "$T"/run/slurm/*.out; fi
step "stop the cluster"
slurm_test_end "slurm edit array"
