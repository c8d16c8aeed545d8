#!/usr/bin/python3
"""judge_edit_videos.py STORE OUT.json [ATTRIBUTE...] -- judges edited videos by what the face nets see on them.

STORE is an `s3editor ingest` store whose first video is the source and whose other videos are edits of it,
ingested with `--set faces.sigma_landmarks=0` (landmarks as detected, unsmoothed). For each edited video, over the
frames where a face was found on both sides (matched by frame index, the largest face of each):
  - for each ATTRIBUTE (default: every measure): the share of frames where the measure rose, its mean and median
    change (the landmark backbone's units: fractions of the inter-ocular distance);
  - identity: cosine of the 128-D face descriptors, centred on the shipped population mean
    (data/face/descriptor_population_mean.json), edited vs source frame: mean, minimum, 5th percentile;
  - landmark jitter: mean over consecutive frame triples and the 68 points of |x_t - (x_{t-1} + x_{t+1}) / 2|
    (pixels), of the edited video and of the source, and their ratio.
Writes everything to OUT.json and prints one block per video. Needs h5py and numpy (/usr/bin/python3 on Debian).
Interim judge until `s3editor eval` measures videos (issue 14)."""
import json
import os
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    store, out_path, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    f = h5py.File(store, "r")
    names = [n.decode() for n in f["video_names"][:]]
    attrs = [a.decode() for a in f["attribute_names"][:]]
    for a in wanted:
        if a not in attrs:
            sys.exit(f"{store}: no measure '{a}' (it has {', '.join(attrs)})")
    wanted = wanted or attrs
    video, frame = f["video_index"][:], f["frame_index"][:]
    measures, desc, raw = f["measures"][:], f["side/descriptor"][:].astype(np.float64), f["side/landmarks_raw"][:]
    mean = np.array(json.load(open(os.path.join(ROOT, "data/face/descriptor_population_mean.json")))["mean"])

    def rows_of(v):  # frame -> row of its largest face
        best = {}
        for i in np.flatnonzero(video == v):
            lm = raw[i]
            area = np.ptp(lm[:, 0]) * np.ptp(lm[:, 1])
            k = int(frame[i])
            if k not in best or area > best[k][1]:
                best[k] = (i, area)
        return {k: i for k, (i, _) in best.items()}

    def jitter(rows):
        keys = sorted(rows)
        values = [np.linalg.norm(raw[rows[b]] - (raw[rows[a]] + raw[rows[c]]) / 2, axis=1).mean()
                  for a, b, c in zip(keys, keys[1:], keys[2:]) if c - a == 2]
        return float(np.mean(values)) if values else float("nan")

    def centred_cosine(a, b):
        a, b = a - mean, b - mean
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    source = rows_of(0)
    report = {"store": os.path.abspath(store), "source": names[0], "source_frames_with_face": len(source),
              "source_jitter_px": jitter(source), "videos": []}
    for v in range(1, len(names)):
        edited = rows_of(v)
        common = sorted(set(source) & set(edited))
        entry = {"video": names[v], "frames_with_face": len(edited), "frames_compared": len(common), "measures": {}}
        for a in wanted:
            k = attrs.index(a)
            d = np.array([measures[edited[c], k] - measures[source[c], k] for c in common])
            entry["measures"][a] = {"rose_share": float((d > 0).mean()) if len(d) else float("nan"),
                                    "mean_change": float(d.mean()) if len(d) else float("nan"),
                                    "median_change": float(np.median(d)) if len(d) else float("nan")}
        ids = np.array([centred_cosine(desc[edited[c]], desc[source[c]]) for c in common])
        entry["identity"] = {"mean": float(ids.mean()), "min": float(ids.min()), "p5": float(np.percentile(ids, 5))} \
            if len(ids) else {}
        entry["jitter_px"] = jitter(edited)
        entry["jitter_ratio"] = entry["jitter_px"] / report["source_jitter_px"]
        report["videos"].append(entry)
        print(f"{os.path.basename(names[v])}: {len(common)} frames compared ({len(source)} with a face in the source)")
        for a, m in entry["measures"].items():
            print(f"  {a:12s} rose on {m['rose_share']:6.1%}, mean change {m['mean_change']:+.4f}, "
                  f"median {m['median_change']:+.4f}")
        if ids.size:
            print(f"  identity     mean {ids.mean():.3f}, min {ids.min():.3f}, 5th percentile {np.percentile(ids, 5):.3f}")
        print(f"  jitter       {entry['jitter_px']:.3f} px vs the source's {report['source_jitter_px']:.3f} px "
              f"({entry['jitter_ratio']:.3f}x)")
    tmp = out_path + ".tmp"
    with open(tmp, "w") as out:
        json.dump(report, out, indent=1)
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
