#!/usr/bin/env bash
# A whole run from one INI file (jobs/chain_synth.ini through jobs/chain_synth.sh): synth -> train-classifier ->
# train -> edit -> eval-latent with no file typed on any command line; every stage leaves a manifest, and each
# stage's input hash equals its upstream's output hash. Then export-npy of the edited store is read by numpy and
# matches the store row for row. Also: a key no stage knows is still an error in the shared file.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$HERE/../.."
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_run_chain.XXXXXX")"
trap 'rm -rf "$T"' EXIT
failures=0; passes=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAILED: $1"; failures=$((failures + 1)); fi; }

cd "$T"
S3E="$BIN" "$ROOT/jobs/chain_synth.sh" --log-level warn >"$T/chain.log" 2>&1 || { cat "$T/chain.log"; exit 1; }
check "the chain wrote its metrics" '[[ -s runs/chain/metrics.json ]]'
check "manifests link every stage to its upstream by hash" '/usr/bin/python3 - <<"PY"
import json
m = {s: json.load(open(f"runs/chain/{s}/{s}.manifest.json"))
     for s in ["synth", "train-classifier", "train", "edit", "eval-latent"]}
for s, j in m.items():
    assert j["schema"] == "s3editor.run_manifest", s
    assert j["outcome"] == "completed" and j["exit_code"] == 0, (s, j["outcome"])
    assert len(j["program"]["git_commit"]) >= 7, j["program"]
    assert j["world_size"] == 1
    assert j["config"]["io.store"]["source"].endswith("chain_synth.ini"), j["config"]["io.store"]
links = [("synth", "io.store", "train-classifier"), ("synth", "io.store", "train"),
         ("train-classifier", "io.classifier", "train"), ("synth", "io.store", "edit"),
         ("train", "io.editor", "edit"), ("edit", "io.edited", "eval-latent")]
for up, key, down in links:
    out, inp = m[up]["outputs"][key], m[down]["inputs"][key]
    assert out["sha256"] == inp["sha256"] and len(out["sha256"]) == 64, (up, key, down)
    assert out["path"] == inp["path"], (out["path"], inp["path"])
editor = m["train"]["outputs"]["io.editor"]
assert editor["kind"] == "folder" and {"editor.h5", "editor_weights.pt"} <= {f["name"] for f in editor["files"]}
assert m["eval-latent"]["outputs"]["io.metrics"]["kind"] == "file"
PY'
check "the judge read source and classifier from the edited store (none given)" '/usr/bin/python3 - <<"PY"
import json, os
j = json.load(open("runs/chain/metrics.json"))
assert os.path.samefile(j["inputs"]["store"], "runs/chain/world.h5"), j["inputs"]
assert os.path.samefile(j["inputs"]["classifier"], "runs/chain/classifier.pt"), j["inputs"]
assert j["judged_by"] == "ground truth" and j["rows"]["count"] == 120, j["rows"]
assert 0 <= j["summary"]["seen"]["success"] <= 1, j["summary"]
PY'
check "editor.h5 records the normalisation and the classifier hash" '/usr/bin/python3 - <<"PY"
import h5py, hashlib
f = h5py.File("runs/chain/editor/editor.h5", "r")
sha = f.attrs["classifier_sha256"]
sha = sha.decode() if isinstance(sha, bytes) else sha
assert sha == hashlib.sha256(open("runs/chain/classifier.pt", "rb").read()).hexdigest()
assert f["normalisation/mean"].shape == (256,) and f["normalisation/std"][:].min() > 0
PY'

# export-npy of the edited store, read back by numpy.
"$BIN" export-npy runs/chain/edited.h5 --out-dir npy --run-dir runs/export --log-level warn
check "export-npy of the edited store matches it row for row" '/usr/bin/python3 - <<"PY"
import h5py, numpy as np
f = h5py.File("runs/chain/edited.h5", "r")
lat, lab = np.load("npy/latents.npy"), np.load("npy/labels.npy")
assert lat.shape == f["latents"].shape and lat.dtype == np.float32, (lat.shape, f["latents"].shape)
assert np.array_equal(lat, f["latents"][:]) and np.array_equal(lab, f["labels"][:], equal_nan=True)
assert open("npy/attributes.txt").read().split() == [a.decode() if isinstance(a, bytes) else a for a in f["attribute_names"][:]]
PY'

# edit --rows heldout splits as the trainer did: the editor's train.validation_share, not the key's default; a
# different share given explicitly is refused.
"$BIN" train --config "$ROOT/jobs/chain_synth.ini" --set train.validation_share=0.2 --set train.steps=5 \
  --out runs/editor_vs02 --run-dir runs/train_vs02 --log-level warn
"$BIN" edit --store runs/chain/world.h5 --editor runs/editor_vs02 --protocol flip-each --rows heldout \
  --out runs/edited_vs02.h5 --run-dir runs/edit_vs02 --log-level warn
check "heldout = the editor's 20 % (240 of 1200 rows), not the default 10 %" '/usr/bin/python3 - <<"PY"
import h5py
f = h5py.File("runs/edited_vs02.h5", "r")
src = set(f["edit/source_row"][:].tolist())
assert len(src) == 240 and min(src) == 960, (len(src), min(src))
PY'
rc=0; "$BIN" edit --config "$ROOT/jobs/chain_synth.ini" --editor runs/editor_vs02 --run-dir runs/edit_vs_bad \
  --out runs/bad.h5 >vs.log 2>&1 || rc=$?
check "another explicit share than the trainer's: exit 2 naming both" \
  '(( rc == 2 )) && grep -q "validation_share = 0.1" vs.log && grep -q "trained with 0.2" vs.log'

# A key that no stage knows is still an error, naming it, even in a shared file.
printf '[train]\nstpes = 5\n' > typo.ini
rc=0; "$BIN" edit --config "$ROOT/jobs/chain_synth.ini" --config typo.ini --run-dir runs/typo >typo.log 2>&1 || rc=$?
check "an unknown key in a shared file: exit 2 naming it" '(( rc == 2 )) && grep -q "train.stpes" typo.log'

echo "$passes passed, $failures failed"
((failures == 0))
