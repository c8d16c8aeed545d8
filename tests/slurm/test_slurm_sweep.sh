#!/usr/bin/env bash
# slurm/sweep.sh on a local one-node SLURM cluster (tests/slurm/slurm_cluster.sh): jobs/sweep_smoke.ini with one seed
# (2 cluster counts x 2 sparsity rates = 4 points, each a whole chain) as a job array plus its afterok aggregation:
# every point runs exactly once (its eval-latent started once, each array task ran its own point), and the aggregated
# table (sweep.json, sweep.csv) lists all 4, done; the daemons this test started are gone at the end.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/slurm_cluster.sh"
slurm_test_begin sweep
slurm_cluster_start
cd "$T"
sed "s|^base = .*|base = $ROOT/jobs/chain_synth.ini|; /^root = /d; s|^run.seed = .*|run.seed = 1|" \
  "$ROOT/jobs/sweep_smoke.ini" > grid.ini
POINTS=(clusters-2_rate-0_seed-1 clusters-2_rate-0.1_seed-1 clusters-5_rate-0_seed-1 clusters-5_rate-0.1_seed-1)
step "slurm/sweep.sh"
out="$(S3E="$BIN" "$ROOT/slurm/sweep.sh" grid.ini --run-dir "$T/s")"
echo "$out"
arr="$(sed -n 's/^array job \([0-9]*\):.*/\1/p' <<<"$out")"
agg="$(sed -n 's/^aggregation job \([0-9]*\):.*/\1/p' <<<"$out")"
check "sweep.sh prints both job ids and where the outputs go" \
  '[[ -n "$arr" && -n "$agg" ]] && grep -q "$T/s/sweep.json" <<<"$out" && grep -q "4 point(s)" <<<"$out"'
check "the aggregation waits for the array (afterok)" \
  '[[ "$(slurm_job_field "$agg" Dependency)" == afterok:${arr}_* ]] || [[ "$(slurm_job_field "$agg" JobState)" != PENDING ]]'
check "the array and the aggregation end within 180 s" 'slurm_wait_gone "$arr" 180 && slurm_wait_gone "$agg" 180'
step "check"
states=""; for i in 0 1 2 3; do states+="$(slurm_job_field "${arr}_$i" JobState) "; done
check "4 array tasks completed ($states)" '[[ "$states" == "COMPLETED COMPLETED COMPLETED COMPLETED " ]]'
check "the aggregation completed" '[[ "$(slurm_job_field "$agg" JobState)" == COMPLETED ]]'
runs=""; for p in "${POINTS[@]}"; do runs+="$(grep -c "s3editor eval-latent on" "$T/s/$p/eval-latent/logs/eval-latent.rank00000.log" 2>/dev/null || echo 0) "; done
check "every point ran once (eval-latent started once per point: $runs)" '[[ "$runs" == "1 1 1 1 " ]]'
ran=""; for i in 0 1 2 3; do ran+="$(sed -n 's/^sweep: array task [0-9]* runs point \([^ ]*\) .*/\1/p' "$T/s/slurm/${arr}_$i.out") "; done
check "array task i ran point i" '[[ "$ran" == "${POINTS[*]} " ]]'
check "the aggregated table lists all 4 points, done, one row each" '/usr/bin/python3 - "$T/s" "${POINTS[@]}" <<"PY"
import csv, json, sys
d, names = sys.argv[1], sys.argv[2:]
j = json.load(open(f"{d}/sweep.json"))
assert [p["name"] for p in j["points"]] == names, [p["name"] for p in j["points"]]
assert all(p["status"] == "done" for p in j["points"]), [p["status"] for p in j["points"]]
rows = list(csv.DictReader(open(f"{d}/sweep.csv")))
assert len(rows) == 4 and len(j["table"]) == 4, (len(rows), len(j["table"]))
assert sorted(p for t in j["table"] for p in t["points"]) == sorted(names)
assert all(r["seeds"] == "1" for r in rows), [r["seeds"] for r in rows]
PY'
if ((failures)); then tail -n 20 "$T"/s/slurm/*.out; fi
step "stop the cluster"
slurm_test_end "slurm sweep"
