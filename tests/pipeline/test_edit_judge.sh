#!/usr/bin/env bash
# `edit --store` and `eval-latent` as a judge, end to end under real mpirun (docs/operations.md, docs/metrics.md):
#  1. edit --protocol flip-each --strength 1 on the held-out rows, then eval-latent, reproduces the metrics that
#     eval-latent computed in-process before edit existed (tests/fixtures/eval_latent_v1, made at commit 069ed7d)
#     for the demo's three methods, within 1e-6;
#  2. edit on 1 and on 2 ranks writes the same item files and index, byte for byte;
#  3. SIGTERM to the ranks mid-edit: exit 75, no temporaries, the rerun completes with the same bytes;
#  4. a rerun with other settings in the same folder is refused (exit 2); a recipe edits every row once;
#  2b. linear_masked / linear_orthogonal trained, edited as a curve and judged: matched success checked against an
#     independent interpolation, linear_orthogonal's edits orthogonal to the other embeddings.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$HERE/../.."; FIX="$ROOT/tests/fixtures/eval_latent_v1"
SIGNAL_RANKS="$HERE/../common/signal_ranks.sh"
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_edit_judge.XXXXXX")"
cleanup() { pkill -KILL -f "^$BIN edit .*--run-dir $T/" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
for v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*'); do unset "$v"; done
FLAGS=(--oversubscribe --bind-to none); [[ "$(id -u)" == 0 ]] && FLAGS+=(--allow-run-as-root)
failures=0; passes=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAILED: $1"; failures=$((failures + 1)); fi; }
no_temporaries() { [[ -z "$(find "$1" -name '.*.tmp.*' -print -quit)" ]]; }
same_outputs() {  # same item files and index, byte for byte
  local a="$1" b="$2"
  diff <(cd "$a/edited_rows" && ls) <(cd "$b/edited_rows" && ls) >/dev/null || { echo "item lists differ"; return 1; }
  for f in "$a"/edited_rows/*.h5; do cmp -s "$f" "$b/edited_rows/$(basename "$f")" || { echo "differs: $f"; return 1; }; done
  cmp -s "$a/edited.h5" "$b/edited.h5" || { echo "index differs"; return 1; }
}

# The fixture's world (synth is deterministic: make.sh's settings).
"$BIN" synth --config "$ROOT/configs/demo/train_world.ini" --set synth.num_samples=600 --set synth.channels=32 \
  --run-dir "$T/synth" --out "$T/world.h5" --log-level warn

# 1. Today's metrics from edit + judge.
for method in linear lt s3editor; do
  "$BIN" edit --store "$T/world.h5" --editor "$FIX/$method" --classifier "$FIX/classifier.pt" --protocol flip-each \
    --strength 1 --rows heldout --run-dir "$T/edit_$method" --log-level warn
  "$BIN" eval-latent --edited "$T/edit_$method/edited.h5" --out "$T/$method.metrics.json" --run-dir "$T/eval_$method" \
    --log-level warn >/dev/null
  check "$method: edit + eval-latent reproduce the fixture's metrics" \
    '/usr/bin/python3 "$HERE/compare_metrics.py" "$FIX/$method.metrics.json" "$T/$method.metrics.json"'
done
check "the judge read the classifier the edited store names" \
  'grep -q "\"classifier\": \"$FIX/classifier.pt\"" "$T/lt.metrics.json" || grep -q "eval_latent_v1/classifier.pt" "$T/lt.metrics.json"'

# 2. 1 and 2 ranks, small items so that both ranks take several.
SMALL=(--set edit.rows_per_item=8 --set edit.batch_size=4)
edit_run() {  # edit_run NP DIR [args]
  local np="$1" dir="$2"; shift 2
  mpirun "${FLAGS[@]}" -n "$np" "$BIN" edit --run-dir "$dir" --store "$T/world.h5" --editor "$FIX/s3editor" \
    --classifier "$FIX/classifier.pt" --protocol flip-each --strengths 0.5,1 --rows heldout "${SMALL[@]}" \
    --log-level warn "$@"
}
edit_run 1 "$T/np1"
edit_run 2 "$T/np2"
check "1 and 2 ranks write the same item files and index" 'same_outputs "$T/np1" "$T/np2"'
check "8 items of the 60 held-out rows" '(( $(ls "$T/np1/edited_rows" | wc -l) == 8 ))'
check "rows tagged with source row, attribute and strength (2 strengths x 12 attributes x 60 rows)" \
  '/usr/bin/python3 -c "
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], \"r\")
src, att, s = f[\"edit/source_row\"][:], f[\"edit/attribute\"][:], f[\"edit/strength\"][:]
assert len(src) == 2 * 12 * 60, len(src)
assert src.min() == 540 and src.max() == 599, (src.min(), src.max())
assert sorted(set(np.abs(s).round(3))) == [0.5, 1.0], set(s)
assert set(att) == set(range(12))
assert f[\"edit/routing\"].shape[0] == 12 and f[\"edit/sparse_masks\"].ndim == 2
assert f.attrs[\"edit_protocol\"] in (b\"flip-each\", \"flip-each\")
" "$T/np1/edited.h5"'
"$BIN" eval-latent --edited "$T/np1/edited.h5" --out "$T/curve.json" --run-dir "$T/eval_curve" --log-level warn >/dev/null
check "two strengths give a curve of two reports, success rising with strength" '/usr/bin/python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j[\"strengths\"] == [0.5, 1.0], j[\"strengths\"]
a, b = (r[\"summary\"][\"seen\"][\"drift\"] for r in j[\"by_strength\"])
assert a < b, (a, b)
" "$T/curve.json"'

# 2b. The stronger linear baselines through train -> edit (a curve) -> eval-latent: linear_orthogonal's edits of a
# leave every other attribute's embedding projection unchanged (in the editor's normalised space), and the
# curve's matched-success table equals an independent interpolation of its per-strength summaries.
for m in linear_masked linear_orthogonal; do
  "$BIN" train --config "$ROOT/configs/methods/common.ini" --config "$ROOT/configs/methods/$m.ini" \
    --config "$ROOT/configs/demo/train.ini" --store "$T/world.h5" --classifier "$FIX/classifier.pt" --out "$T/$m" \
    --run-dir "$T/train_$m" --log-level warn
  "$BIN" edit --store "$T/world.h5" --editor "$T/$m" --protocol flip-each --strengths 0.25,0.5,1,2 --rows heldout \
    --run-dir "$T/edit_$m" --log-level warn
  "$BIN" eval-latent --edited "$T/edit_$m/edited.h5" --out "$T/$m.json" --run-dir "$T/eval_$m" \
    --set eval.match_success=0.5,0.8,0.999 --log-level warn >/dev/null
  check "$m: matched success equals an independent interpolation of the curve" '/usr/bin/python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
m = j[\"matched_success\"]
assert m[\"success_metric\"] == \"success\" and m[\"targets\"] == [0.5, 0.8, 0.999], m[\"targets\"]
reached = 0
for entry in m[\"by_target\"]:
    t = entry[\"target\"]
    for split in (\"seen\", \"unseen\"):
        rs = j[\"by_strength\"]
        want = None
        for lo, hi in zip(rs, rs[1:]):
            a, b = lo[\"summary\"][split][\"success\"], hi[\"summary\"][split][\"success\"]
            if min(a, b) <= t <= max(a, b):
                w = 0.0 if a == b else (t - a) / (b - a)
                want = {k: lo[\"summary\"][split][k] + w * (hi[\"summary\"][split][k] - lo[\"summary\"][split][k])
                        for k in j[\"by_strength\"][0][\"metrics\"]}
                want[\"strength\"] = lo[\"strength\"] + w * (hi[\"strength\"] - lo[\"strength\"])
                break
        got = entry[split]
        if want is None:
            assert got is None, (t, split, got)
            continue
        reached += 1
        for k, v in want.items():
            assert abs(got[k] - v) < 1e-9, (t, split, k, got[k], v)
        assert abs(got[\"success\"] - t) < 1e-9
assert reached >= 2, reached
" "$T/$m.json"'
done
check "linear_orthogonal: the edit of a does not move <z, e_b> for b != a; linear_masked stays on fewer dims" '/usr/bin/python3 -c "
import h5py, numpy as np, sys
T = sys.argv[1]
src = h5py.File(T + \"/world.h5\", \"r\")[\"latents\"]
for m in (\"linear_orthogonal\", \"linear_masked\"):
    ed = h5py.File(T + \"/\" + m + \"/editor.h5\", \"r\")
    E, std, idx = ed[\"embeddings\"][:], ed[\"normalisation/std\"][:], ed[\"edit_index\"][:]
    e = h5py.File(T + \"/edit_\" + m + \"/edited.h5\", \"r\")
    rows, att = e[\"edit/source_row\"][:], e[\"edit/attribute\"][:]
    dz = ((e[\"latents\"][:] - src[:][rows]).reshape(len(rows), -1) / std.reshape(1, -1))[:, idx]
    proj = dz @ E.T                              # [n, A]: moves of every embedding projection
    own = proj[np.arange(len(att)), att]
    other = proj.copy(); other[np.arange(len(att)), att] = 0
    if m == \"linear_orthogonal\":
        assert np.abs(other).max() < 1e-3 * np.abs(own).max(), (np.abs(other).max(), np.abs(own).max())
    else:
        zero = (np.abs(dz) == 0).mean()
        assert zero > 0.1, zero                  # the mask cuts the edit off some of the editable dims
" "$T"'

# 3. SIGTERM mid-edit on 2 ranks, then a rerun.
out="$(bash "$SIGNAL_RANKS" 2 "$T/sig/items/*.done.json" TERM "$BIN" edit --run-dir "$T/sig" --store "$T/world.h5" \
  --editor "$FIX/s3editor" --classifier "$FIX/classifier.pt" --protocol flip-each --strengths 0.5,1 --rows heldout \
  "${SMALL[@]}" --set edit.test_delay_ms=150 --log-level warn)" || true
check "SIGTERM mid-edit exits 75" 'grep -q "signal_ranks: exit=75" <<<"$out" || { echo "$out"; false; }'
check "not every item done before the signal" '(( $(ls "$T"/sig/items/*.done.json | wc -l) < 8 ))'
check "no temporaries after the stop" 'no_temporaries "$T/sig"'
edit_run 2 "$T/sig"
check "the rerun completes with the same bytes" 'same_outputs "$T/np1" "$T/sig"'

# 4. Other settings in the same folder, and a recipe.
rc=0; edit_run 1 "$T/np1" --set edit.rows_per_item=4 >"$T/other.log" 2>&1 || rc=$?
check "other settings in a used folder: exit 2 naming --fresh" '(( rc == 2 )) && grep -q -- "--fresh" "$T/other.log"'
"$BIN" edit --store "$T/world.h5" --editor "$FIX/lt" --classifier "$FIX/classifier.pt" --edit attr_00=1 \
  --edit attr_03=-0.5 --run-dir "$T/recipe" --log-level warn
check "a recipe edits every row once, in row order" '/usr/bin/python3 -c "
import h5py, numpy as np, sys
e, s = h5py.File(sys.argv[1], \"r\"), h5py.File(sys.argv[2], \"r\")
assert (e[\"edit/source_row\"][:] == np.arange(600)).all()
assert (e[\"edit/attribute\"][:] == -1).all()
d = np.abs(e[\"latents\"][:] - s[\"latents\"][:]).reshape(600, -1)
assert d.max() > 0, \"nothing edited\"
" "$T/recipe/edited.h5" "$T/world.h5"'
rc=0; "$BIN" edit --store "$T/world.h5" --editor "$FIX/lt" --classifier "$FIX/classifier.pt" --edit smile=1 \
  --run-dir "$T/bad" >"$T/bad.log" 2>&1 || rc=$?
check "an unknown attribute is a usage error listing the editor's attributes" \
  '(( rc == 2 )) && grep -q "no attribute .smile." "$T/bad.log" && grep -q "attr_00" "$T/bad.log"'

echo "$passes passed, $failures failed"
((failures == 0))
