"""compare_ingest_stores.py REF MERGED LIST — the store index the merge of an ingest job array wrote (MERGED) against
an unsharded ingest of the same list (REF), with h5py: the same datasets with the same values (latents read through
the index's virtual columns, labels, thresholds, tracks, the video table), the same attributes but for where the
label thresholds were computed (a path and a time); every input of LIST named exactly once, in order, the truncated
one failed and the others done. Exit 1 with the differences otherwise (tests/slurm/test_slurm_ingest.sh)."""
import os
import sys

import h5py
import numpy as np

ref_path, merged_path, list_path = sys.argv[1:4]
errors = []


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def attrs(obj):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in obj.attrs.items()}


with h5py.File(ref_path, "r") as ref, h5py.File(merged_path, "r") as merged:
    a, b = datasets(ref), datasets(merged)
    if sorted(a) != sorted(b):
        errors.append(f"datasets differ: only in ref {sorted(set(a) - set(b))}, only in merged {sorted(set(b) - set(a))}")
    for name in sorted(set(a) & set(b)):
        x, y = a[name][()], b[name][()]
        if x.shape != y.shape or x.dtype != y.dtype:
            errors.append(f"{name}: {x.shape} {x.dtype} vs {y.shape} {y.dtype}")
        elif x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                errors.append(f"{name}: values differ (max |diff| {np.nanmax(np.abs(x - y))})")
        elif not np.array_equal(x, y):
            errors.append(f"{name}: values differ")
        if attrs(a[name]) != attrs(b[name]):
            errors.append(f"{name}: attributes differ")
    ra, rb = attrs(ref), attrs(merged)
    for k in sorted(set(ra) | set(rb)):
        if k == "label_thresholds_source":  # "computed over N rows (kept in <run>/label_thresholds.json)"
            for s in (ra.get(k), rb.get(k)):
                if s is None or "computed over" not in str(s):
                    errors.append(f"attribute {k} = {s!r}: thresholds not computed over the rows")
            continue
        if ra.get(k) != rb.get(k):
            errors.append(f"attribute {k}: {ra.get(k)!r} vs {rb.get(k)!r}")

    base = os.path.dirname(os.path.abspath(list_path))
    inputs = [os.path.join(base, line.strip()) for line in open(list_path) if line.strip()]
    names = [s.decode() for s in merged["video_names"][()]]
    status = [s.decode() for s in merged["videos/status"][()]]
    rows = merged["videos/rows"][()]
    if [os.path.realpath(n) for n in names] != [os.path.realpath(p) for p in inputs]:
        errors.append(f"video_names {names} are not the list's inputs {inputs}")
    if len(set(names)) != len(names):
        errors.append("an input is named twice")
    for n, s, r in zip(names, status, rows):
        bad = os.path.basename(n) == "truncated.mp4"
        if bad and not (s.startswith("failed: ") and "truncated.mp4" in s):
            errors.append(f"{n}: status {s!r}, expected a failure naming the file")
        if not bad and (s != "done" or r < 1):
            errors.append(f"{n}: status {s!r} with {r} rows, expected done with faces")
    lat = merged["latents"][()]
    vi = merged["video_index"][()]
    if not (lat.shape[0] == rows.sum() == len(vi) and np.isfinite(lat).all()):
        errors.append(f"latents {lat.shape} vs {rows.sum()} rows in the video table")
    if not (np.bincount(vi, minlength=len(names)) == rows).all():
        errors.append("video_index does not match videos/rows")
    print(f"merged store: {lat.shape[0]} rows of {lat.shape[1:]} from {len(names)} inputs "
          f"({sum(s == 'done' for s in status)} done, {sum(s.startswith('failed') for s in status)} failed); "
          f"{len(a)} datasets compared with the unsharded store")

for e in errors:
    print("DIFFERENCE:", e)
sys.exit(1 if errors else 0)
