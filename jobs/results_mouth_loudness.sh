#!/usr/bin/env bash
# The landmark backbone's mouth_open against speech loudness (docs/results.md, "Ingest: mouth_open follows speech"):
# ingests the shared GRID and CREMA-D clips (../shared/data/videos, not part of the product; 1 rank) and, per clip,
# correlates mouth_open per frame with the audio's RMS loudness (dBFS) over the same frame interval (decoded by the
# ffmpeg CLI to 16 kHz mono), Pearson r, also with the loudness led by 0-3 frames (the mouth opens before the sound).
#   usage: jobs/results_mouth_loudness.sh [VIDEO...]   (default: the three shared GRID/CREMA-D clips)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3E="${S3E_BUILD_DIR:-$ROOT/build}/bin/s3editor"
RUN="${S3E_RESULTS_DIR:-$ROOT/runs/results}/mouth_loudness"
DATA="$ROOT/../shared/data/videos"
VIDEOS=("$@")
[[ ${#VIDEOS[@]} -gt 0 ]] || VIDEOS=("$DATA/grid_bbaf2n.mpg" "$DATA/cremad_1001_DFA_HAP_XX.flv" "$DATA/cremad_1001_DFA_NEU_XX.flv")
mkdir -p "$RUN"
for v in "${VIDEOS[@]}"; do
  name="$(basename "${v%.*}")"
  [[ -f "$RUN/$name/store.h5" ]] || "$S3E" ingest "$v" --run-dir "$RUN/$name" --log-level warn \
    --set faces.detector_input_size=512 --set ingest.range_seconds=0
  ffmpeg -v error -nostdin -y -i "$v" -vn -ac 1 -ar 16000 -f s16le "$RUN/$name/audio.s16"
done
/usr/bin/python3 - "$RUN" "${VIDEOS[@]}" <<'PY'
import os, sys
import h5py, numpy as np
run, videos = sys.argv[1], sys.argv[2:]
print("| clip | frames with a face | Pearson r (mouth_open, loudness dB) | best r with the sound 0-3 frames later |")
print("|---|---|---|---|")
for v in videos:
    name = os.path.splitext(os.path.basename(v))[0]
    f = h5py.File(f"{run}/{name}/store.h5", "r")
    names = [s.decode() for s in f["attribute_names"][:]]
    mouth = f["measures"][:, names.index("mouth_open")]
    t = f["side/time_us"][:] / 1e6
    fps = float(f["videos/fps"][0])
    audio = np.fromfile(f"{run}/{name}/audio.s16", dtype=np.int16).astype(np.float64) / 32768
    def loudness(start):
        a = audio[int(start * 16000):int((start + 1 / fps) * 16000)]
        return 20 * np.log10(np.sqrt(np.mean(a * a)) + 1e-6) if len(a) else np.nan
    r_lag = []
    for lag in range(4):
        db = np.array([loudness(x + lag / fps) for x in t])
        ok = np.isfinite(db)
        r_lag.append(np.corrcoef(mouth[ok], db[ok])[0, 1])
    best = int(np.argmax(r_lag))
    print(f"| {name} | {len(t)} | {r_lag[0]:.2f} | {r_lag[best]:.2f} (lag {best}) |")
PY
