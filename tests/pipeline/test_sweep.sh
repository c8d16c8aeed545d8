#!/usr/bin/env bash
# s3editor sweep end to end on jobs/sweep_smoke.ini (2 cluster counts x 2 sparsity rates x 2 seeds = 8 points, each
# a whole chain synth -> train-classifier -> train -> edit -> eval-latent):
# - every point runs once (eval-latent's log of each point says it started once), the table has the 4 parameter
#   combinations with n = 2 seeds, and its means and sample stds equal those recomputed from the points' CSVs;
# - a rerun changes nothing (every manifest keeps its bytes and mtime); SIGKILL mid-sweep then a rerun: the points
#   finished before the kill are not touched, the others are completed, the table lists all 8; SIGTERM exits 75;
# - --slurm writes an array script that passes bash -n with --array=0-7, and one array task run here (a stand-in
#   srun on PATH) runs exactly its point;
# - under mpirun on 2 ranks the points run in-process on those ranks (world size 2 in every manifest, although the
#   sweep asks for 3 ranks per stage: a nested launch would give 3); as one process with ranks = 2 each stage is
#   launched through jobs/mpi_launch.sh 2 (world size 2, the MPI singleton's environment kept from the child);
# - a bad grid exits 2 naming the file and line; a failing stage fails its point (exit 3), the sweep goes on.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_sweep.XXXXXX")"
trap '[[ -n "${S3E_KEEP_TMP:-}" ]] || rm -rf "$T"' EXIT
PY=/usr/bin/python3
failures=0; passes=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAILED: $1"; failures=$((failures + 1)); fi; }
START=$SECONDS
step() { echo "== $* ($((SECONDS - START)) s)"; }

cd "$T"
# The shipped smoke grid, copied out of the tree: its base made absolute, its root left to --run-dir.
sed "s|^base = .*|base = $ROOT/jobs/chain_synth.ini|; /^root = /d" "$ROOT/jobs/sweep_smoke.ini" > grid.ini
POINTS=(clusters-2_rate-0_seed-1 clusters-2_rate-0_seed-2 clusters-2_rate-0.1_seed-1 clusters-2_rate-0.1_seed-2
        clusters-5_rate-0_seed-1 clusters-5_rate-0_seed-2 clusters-5_rate-0.1_seed-1 clusters-5_rate-0.1_seed-2)
STAGES=(synth train-classifier train edit eval-latent)

# How many times each point's eval-latent started (its rank-0 log gains a line per run at log level info: the
# sweeps that are counted run at the default level).
eval_runs() {  # eval_runs DIR POINT
  local log="$1/$2/eval-latent/logs/eval-latent.rank00000.log"
  if [[ -f "$log" ]]; then grep -c "s3editor eval-latent on" "$log" || true; else echo 0; fi
}
# path mtime sha256 of every manifest, metrics file and point record under DIR (sorted).
snapshot() {
  (cd "$1" && find . -name '*.manifest.json' -path './*/*/*' -o -name 'metrics.*' -path './*/*' \
     -o -name sweep_point.json | sort | while read -r f; do echo "$f $(stat -c %Y.%y "$f") $(sha256sum < "$f")"; done)
}
finished_points() {  # the points whose eval-latent completed
  for p in "${POINTS[@]}"; do
    [[ -f "$1/$p/metrics.json" ]] && grep -q '"outcome": "completed"' "$1/$p/eval-latent/eval-latent.manifest.json" \
      2>/dev/null && echo "$p"
  done
  return 0
}
wait_for_points() {  # wait_for_points DIR N PID: until N points of DIR finished or PID ended (at most 60 s)
  for _ in $(seq 1 1200); do
    (( $(finished_points "$1" | wc -l) >= $2 )) && return
    kill -0 "$3" 2>/dev/null || return
    sleep 0.05
  done
}

# The table: 8 points done in expansion order, 4 rows of n = 2, means and sample stds recomputed from the points'
# CSVs (eval-latent's 6 significant digits) equal sweep.csv's and sweep.json's.
table_ok() {  # table_ok DIR
  "$PY" - "$1" "${POINTS[@]}" <<'PY'
import csv, json, math, sys
d, names = sys.argv[1], sys.argv[2:]
j = json.load(open(f"{d}/sweep.json"))
assert j["schema"] == "s3editor.sweep" and j["version"] == 1, j["schema"]
assert [p["name"] for p in j["points"]] == names, [p["name"] for p in j["points"]]
assert all(p["status"] == "done" for p in j["points"]), [p["status"] for p in j["points"]]
assert j["axes"] == {"editor.clusters": ["2", "5"], "sparsity.rate": ["0", "0.1"], "run.seed": ["1", "2"]}, j["axes"]
rows = list(csv.DictReader(open(f"{d}/sweep.csv")))
assert len(rows) == 4 and len(j["table"]) == 4, (len(rows), len(j["table"]))
point_csv = {n: next(csv.DictReader(open(f"{d}/{n}/metrics.csv"))) for n in names}
checked = 0
for row, t in zip(rows, j["table"]):
    assert row["seeds"] == "2" and t["seeds"] == 2, row
    members = [n for n in names if n.startswith(f"clusters-{row['editor.clusters']}_rate-{row['sparsity.rate']}_")]
    assert len(members) == 2 and t["points"] == members, (members, t["points"])
    assert t["params"] == {"editor.clusters": row["editor.clusters"], "sparsity.rate": row["sparsity.rate"]}
    for m in ["seen_success", "seen_preservation_error", "seen_identity", "seen_locality", "unseen_success",
              "unseen_over_editing", "seen_drift"]:
        v = [float(point_csv[n][m]) for n in members]
        mean = sum(v) / 2
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (2 - 1))
        for got_mean, got_sd in [(float(row[m + "_mean"]), float(row[m + "_std"])), (t["mean"][m], t["std"][m])]:
            assert abs(got_mean - mean) <= 1e-5 * abs(mean) + 1e-9, (m, got_mean, mean)
            assert abs(got_sd - sd) <= 1e-5 * abs(mean) + 1e-9, (m, got_sd, sd)
        checked += 1
assert checked == 28
PY
}

step "the whole sweep"
rc=0; "$BIN" sweep --grid grid.ini --run-dir a > a.log 2>&1 || rc=$?
check "the sweep exits 0" '((rc == 0)) || { tail -20 a.log; false; }'
check "8 point folders, each with 5 completed stage manifests" '"$PY" - "${POINTS[@]}" <<"PY"
import json, sys, os
names = sys.argv[1:]
assert sorted(n for n in os.listdir("a") if os.path.isdir("a/" + n) and n not in ("logs", "report")) == sorted(names)
for n in names:
    for s in ["synth", "train-classifier", "train", "edit", "eval-latent"]:
        m = json.load(open(f"a/{n}/{s}/{s}.manifest.json"))
        assert m["outcome"] == "completed" and m["world_size"] == 1, (n, s, m["outcome"])
    assert json.load(open(f"a/{n}/sweep_point.json"))["attempts"] == 1, n
PY'
runs=""; for p in "${POINTS[@]}"; do runs+="$(eval_runs a "$p") "; done
check "every point ran once (eval-latent started once per point: $runs)" '[[ "$runs" == "1 1 1 1 1 1 1 1 " ]]'
check "the aggregated table: 4 rows of 2 seeds, mean and std recomputed" 'table_ok a'
check "the terminal table" 'grep -q "8 points: 8 done, 0 failed, 0 pending" a.log'
check "the sweep's report: ablation curves of the table's metrics against both axes" \
  '(( $(grep -o "data-s3e-figure=\"ablation:sweep.json:editor.clusters:" a/report.html | wc -l) >= 7 &&
      $(grep -o "data-s3e-figure=\"ablation:sweep.json:sparsity.rate:" a/report.html | wc -l) >= 7 ))'

step "rerun: nothing to do"
snapshot a > a.before
rc=0; "$BIN" sweep --grid grid.ini --run-dir a > a2.log 2>&1 || rc=$?
check "the rerun exits 0 and skips all 8 points" '((rc == 0)) && (( $(grep -c "finished before, skipped" a2.log) == 8 ))'
check "the rerun left every manifest and metrics file as it was" 'snapshot a | diff a.before - > /dev/null'

step "SIGKILL mid-sweep, then resume"
"$BIN" sweep --grid grid.ini --run-dir b > b1.log 2>&1 &
pid=$!
wait_for_points b 3 "$pid"
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
mapfile -t before < <(finished_points b)
check "killed mid-sweep: ${#before[@]} of 8 points finished" '(( ${#before[@]} >= 3 && ${#before[@]} < 8 ))'
for p in "${before[@]}"; do snapshot "b/$p/.." | grep "^\./$p/" ; done > b.before
rc=0; "$BIN" sweep --grid grid.ini --run-dir b > b2.log 2>&1 || rc=$?
check "the resumed sweep exits 0" '((rc == 0)) || { tail -20 b2.log; false; }'
check "the points finished before the kill were not rerun (manifests, metrics, records unchanged)" \
  'for p in "${before[@]}"; do snapshot "b/$p/.." | grep "^\./$p/"; done | diff b.before - > /dev/null'
runs=""; for p in "${before[@]}"; do runs+="$(eval_runs b "$p")"; done
check "their eval-latent started once ($runs)" '[[ "$runs" == "$(printf "1%.0s" "${before[@]}")" ]]'
check "every point ran to the end" '(( $(finished_points b | wc -l) == 8 ))'
check "the resumed sweep's table lists all 8 points" 'table_ok b'

step "SIGTERM: exit 75, then resume"
"$BIN" sweep --grid grid.ini --run-dir c > c1.log 2>&1 &
pid=$!
wait_for_points c 1 "$pid"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
check "SIGTERM: exit 75 and how to resume ($rc)" '((rc == 75)) && grep -q "rerun" c1.log'
rc=0; "$BIN" sweep --grid grid.ini --run-dir c --log-level warn > c2.log 2>&1 || rc=$?
check "the rerun after SIGTERM completes every point" '((rc == 0)) && (( $(finished_points c | wc -l) == 8 ))'

step "--slurm"
rc=0; "$BIN" sweep --grid grid.ini --run-dir s --slurm --ranks 2 > s.log 2>&1 || rc=$?
check "--slurm exits 0 and runs nothing" '((rc == 0)) && [[ ! -d s/${POINTS[0]} ]]'
check "the array script and the aggregation script pass bash -n" 'bash -n s/sweep_array.sbatch && bash -n s/sweep_aggregate.sbatch'
n=$(wc -l < s/points.txt)
check "points.txt lists the 8 points in order" '[[ "$(cat s/points.txt)" == "$(printf "%s\n" "${POINTS[@]}")" ]]'
check "--array=0-$((n - 1)) and --ntasks=2" 'grep -qx "#SBATCH --array=0-$((n - 1))" s/sweep_array.sbatch && grep -qx "#SBATCH --ntasks=2" s/sweep_array.sbatch'
# One array task, here: a stand-in srun that drops its options and runs the command (one rank).
mkdir -p fakebin
printf '#!/bin/bash\nwhile [[ "$1" == -* ]]; do shift; done\nexec "$@"\n' > fakebin/srun
printf '#!/bin/bash\necho "scontrol $*" >> %q/scontrol.log\n' "$T" > fakebin/scontrol
chmod +x fakebin/srun fakebin/scontrol
rc=0; PATH="$T/fakebin:$PATH" SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_JOB_ID=77 bash s/sweep_array.sbatch > task5.log 2>&1 || rc=$?
check "array task 5 runs point 6 (${POINTS[5]}) and only it" \
  '((rc == 0)) && [[ "$(finished_points s)" == "${POINTS[5]}" ]] && grep -q "runs point ${POINTS[5]}" task5.log'
rc=0; "$BIN" sweep --grid grid.ini --run-dir s --aggregate-only --log-level warn > s2.log 2>&1 || rc=$?
check "--aggregate-only: 1 point done, 7 pending" '((rc == 0)) && "$PY" -c "
import json; j = json.load(open(\"s/sweep.json\"))
assert [p[\"status\"] for p in j[\"points\"]] == [\"pending\"] * 5 + [\"done\"] + [\"pending\"] * 2
assert [t[\"seeds\"] for t in j[\"table\"]] == [0, 0, 1, 0]"'

step "under mpirun on 2 ranks: in-process"
rc=0; "$ROOT/jobs/mpi_launch.sh" 2 "$BIN" sweep --grid grid.ini --run-dir m --ranks 3 > m.log 2>&1 || rc=$?
check "the 2-rank sweep exits 0" '((rc == 0)) || { tail -20 m.log; false; }'
check "every stage of every point ran on the sweep's 2 ranks (no nested launch of 3)" '"$PY" - "${POINTS[@]}" <<"PY"
import json, sys, os
for n in sys.argv[1:]:
    for s in ["synth", "train-classifier", "train", "edit", "eval-latent"]:
        m = json.load(open(f"m/{n}/{s}/{s}.manifest.json"))
        assert m["world_size"] == 2 and m["outcome"] == "completed", (n, s, m["world_size"])
        assert os.path.isfile(f"m/{n}/{s}/logs/{s}.rank00001.log"), (n, s)
PY'
check "the sweep said why it ignores ranks = 3" 'grep -q "ranks = 3 is ignored under mpirun" m.log'
check "the 2-rank sweep's table" 'table_ok m'

step "one process, ranks = 2: each stage through jobs/mpi_launch.sh"
rc=0; "$BIN" sweep --grid grid.ini --run-dir l --ranks 2 --point "${POINTS[3]}" --log-level debug > l.log 2>&1 || rc=$?
check "the launched point exits 0" '((rc == 0)) || { grep -E "error|sweep" l.log | tail; false; }'
check "its stages ran on 2 ranks through the launcher" \
  '(( $(grep -c "sweep: running .*mpi_launch.sh 2 " l.log) == 5 )) && "$PY" -c "
import json
for s in [\"synth\", \"train-classifier\", \"train\", \"edit\", \"eval-latent\"]:
    m = json.load(open(f\"l/${POINTS[3]}/{s}/{s}.manifest.json\")); assert m[\"world_size\"] == 2, (s, m[\"world_size\"])"'

step "bad grids and failing points"
printf '[sweep]\nbase = %s\nstages = synth, train\n[axes]\neditor.clusters = 2, 5\n[axis]\nrun.seed = 1\n' \
  "$ROOT/jobs/chain_synth.ini" > bad1.ini
rc=0; "$BIN" sweep --grid bad1.ini --run-dir bad > bad1.log 2>&1 || rc=$?
check "unknown section: exit 2 naming bad1.ini:6" '((rc == 2)) && grep -q "bad1.ini:6: unknown section \[axis\]" bad1.log'
printf '[sweep]\nbase = %s\nstages = synth, train\n[axes]\neditor.clusters = 2, 5\nedit.strength = 1, 2\n' \
  "$ROOT/jobs/chain_synth.ini" > bad2.ini
rc=0; "$BIN" sweep --grid bad2.ini --run-dir bad > bad2.log 2>&1 || rc=$?
check "a key none of the stages reads: exit 2 naming bad2.ini:6" \
  '((rc == 2)) && grep -q "bad2.ini:6: config key .edit.strength. is read by none" bad2.log'
printf '[sweep]\nbase = %s\nstages = synth\n[axes]\nsynth.num_samples =\n' "$ROOT/jobs/chain_synth.ini" > bad3.ini
rc=0; "$BIN" sweep --grid bad3.ini --run-dir bad > bad3.log 2>&1 || rc=$?
check "an empty axis: exit 2 naming bad3.ini:5" '((rc == 2)) && grep -q "bad3.ini:5: axis synth.num_samples has no values" bad3.log'
check "no sweep folder made for a bad grid" '[[ ! -e bad ]]'
rc=0; "$BIN" sweep --grid grid.ini --run-dir a --point nosuch > bad4.log 2>&1 || rc=$?
check "--point of no such point: exit 2 listing the points" '((rc == 2)) && grep -q "no such point" bad4.log && [[ ! -e a/nosuch ]]'
# train cannot read its classifier: both points fail at train, the sweep goes on and exits 3.
{ sed '/^\[args\]/,$d; /^run.seed/d' grid.ini; printf '[args]\ntrain = --classifier %s/missing.pt\n' "$T"; } > fail.ini
rc=0; "$BIN" sweep --grid fail.ini --run-dir f --log-level warn > f.log 2>&1 || rc=$?
check "failing points: exit 3, both recorded failed at train, the table has no seeds" '((rc == 3)) && "$PY" -c "
import json; j = json.load(open(\"f/sweep.json\"))
assert len(j[\"points\"]) == 4 and all(p[\"status\"] == \"failed\" and \"train\" in p[\"detail\"] for p in j[\"points\"]), j[\"points\"]
assert all(t[\"seeds\"] == 0 for t in j[\"table\"])"'

step "done"
echo "$passes passed, $failures failed ($((SECONDS - START)) s)"
((failures == 0))
