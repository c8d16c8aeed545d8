#!/usr/bin/env bash
# An item stage across two hosts (netns_hosts.sh): `edit --store` with 8-row items on 2 hosts x 1 rank. Every item
# of the plan is done exactly once (one done record each, first attempt, the run's summary counts each once), both
# hosts did items (the done records' host and rank), and the item files and the index equal a 1-rank run's byte for
# byte.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$HERE/../.."; FIX="$ROOT/tests/fixtures/eval_latent_v1"
source "$HERE/netns_hosts.sh"
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_mh_edit.XXXXXX")"
MH_EXTRA_TRAP='rm -rf "$T"'
mh_setup
cd "$T"

# The fixture editor's world (synth is deterministic; as tests/pipeline/test_edit_judge.sh).
"$BIN" synth --config "$ROOT/configs/demo/train_world.ini" --set synth.num_samples=600 --set synth.channels=32 \
  --run-dir synth --out world.h5 --log-level warn
EDIT=(edit --store "$T/world.h5" --editor "$FIX/s3editor" --classifier "$FIX/classifier.pt" --protocol flip-each
  --strengths 0.5,1 --rows heldout --set edit.rows_per_item=8 --set edit.batch_size=4
  --set dist.heartbeat_s=0.5 --set dist.heartbeat_timeout_s=10)
"$BIN" "${EDIT[@]}" --run-dir "$T/ref" --log-level warn
rc=0; mh_mpirun 90 "a:1,b:1" "$BIN" "${EDIT[@]}" --run-dir "$T/two_hosts" --log-level info >two_hosts.log 2>&1 || rc=$?
mh_check "2 hosts x 1 rank: exit 0" '(( rc == 0 )) || { tail -20 two_hosts.log; false; }'
mh_check "the job spanned 2 nodes" 'grep -q "edit on 2 rank(s), 2 node(s)" two_hosts/logs/edit.rank00000.log'
mh_check "every planned item done exactly once, on both hosts" '/usr/bin/python3 - "$T/two_hosts" "$MH_HOST_A" "$MH_HOST_B" <<"PY"
import glob, json, os, sys
run, host_a, host_b = sys.argv[1:4]
plan = json.load(open(f"{run}/edit.items.json"))
items = plan["items"] if isinstance(plan, dict) else plan
ids = sorted(i["id"] if isinstance(i, dict) else i for i in items)
assert len(ids) == 8, ids
records = [json.load(open(p)) for p in sorted(glob.glob(f"{run}/items/*.done.json"))]
done = sorted(r["id"] for r in records)
assert done == ids, (done, ids)                                  # each planned item, no other, none twice
assert not glob.glob(f"{run}/items/*.failed.json")
assert all(r["attempt"] == 1 for r in records), [r["attempt"] for r in records]
by_host = {}
for r in records:
    by_host.setdefault((r["host"], r["rank"]), []).append(r["id"])
assert set(by_host) == {(host_a, 0), (host_b, 1)}, by_host      # rank 0 on host a, rank 1 on host b, both worked
print({f"rank {k[1]} on {k[0]}": len(v) for k, v in by_host.items()})
PY'
mh_check "the summary counts 8 done now, 0 before, 0 failed" 'grep -q "8 item(s): 8 done now, 0 done before, 0 failed" two_hosts.log'
same_outputs() {  # same item files and index, byte for byte
  diff <(cd "$1/edited_rows" && ls) <(cd "$2/edited_rows" && ls) >/dev/null || { echo "item lists differ"; return 1; }
  local f
  for f in "$1"/edited_rows/*.h5; do cmp -s "$f" "$2/edited_rows/$(basename "$f")" || { echo "differs: $f"; return 1; }; done
  cmp -s "$1/edited.h5" "$2/edited.h5" || { echo "index differs"; return 1; }
}
mh_check "item files and index equal the 1-rank run byte for byte" 'same_outputs ref two_hosts'
mh_summary "multihost edit"
