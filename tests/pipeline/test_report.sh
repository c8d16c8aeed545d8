#!/usr/bin/env bash
# s3editor report end to end: a real (shrunk) synthetic chain gives manifests, training logs, latent metrics and an
# editor with sparse masks; small videos made with the ffmpeg CLI and a video-metrics file, and a sweep file, follow
# the schemas of docs/formats.md (hand-written here until `eval` and `sweep` write them in this test). The page is
# rendered by Debian's chromium, driven by puppeteer-core from inside an empty network namespace (not even loopback:
# any request fails and is seen); every chart and frame strip must be drawn (pixel std > 5 inside its box), every
# expected kind of figure present, and no request, console error or page error may occur.
# Needs chromium, node, ffmpeg, ip (iproute2), root for the namespace, and the npm packages of jobs/setup.sh: a
# missing one fails the test, naming it.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
NODE_MODULES="${S3E_CACHE_DIR:-$ROOT/.cache}/node/node_modules"
failures=0; passes=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAILED: $1"; failures=$((failures + 1)); fi; }
need() { echo "FAILED: $1 (jobs/setup.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
for tool in chromium node ffmpeg ip; do command -v "$tool" >/dev/null || need "$tool is not installed"; done
[[ -f "$NODE_MODULES/puppeteer-core/package.json" ]] || need "npm package puppeteer-core missing in $NODE_MODULES"
[[ -f "$NODE_MODULES/echarts/dist/echarts.min.js" ]] || need "npm package echarts missing in $NODE_MODULES"
((EUID == 0)) || need "the network namespace needs root"

T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_report.XXXXXX")"
NS="s3e-report-$$"
trap 'ip netns del "$NS" 2>/dev/null || true; rm -rf "$T"' EXIT
cd "$T"

# A real chain, shrunk: the same INI as jobs/chain_synth.sh with fewer steps and a denser log.
cat > small.ini <<'INI'
[classifier]
steps = 100
[train]
steps = 60
log_every = 5
[sparsity]
start_step = 10
period_steps = 10
INI
S3E="$BIN" "$ROOT/jobs/chain_synth.sh" --log-level warn --config small.ini >chain.log 2>&1 || { cat chain.log; exit 1; }

# Two small videos and their "edits" (a box drawn over part of the picture), 2 s at 10 frames/s.
mkdir -p runs/eval videos
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc=size=192x144:rate=10:duration=2 -pix_fmt yuv420p -c:v libx264 videos/a.mp4
ff -f lavfi -i testsrc2=size=192x144:rate=10:duration=2 -pix_fmt yuv420p -c:v libx264 videos/b.mp4
for v in a b; do
  ff -i "videos/$v.mp4" -vf "drawbox=x=60:y=40:w=70:h=50:color=red@0.5:t=fill" -pix_fmt yuv420p -c:v libx264 \
    "videos/$v.edited.mp4"
done
/usr/bin/python3 - "$T" <<'PY'
import json, math, sys
T = sys.argv[1]
def video(vid, phase):
    n = 20
    t = [i / 10 for i in range(n)]
    ident = [0.9 + 0.05 * math.sin(i / 3 + phase) for i in range(n)]
    tl = [1.0 + 0.02 * math.cos(i / 2 + phase) for i in range(n - 1)]  # pairs (i, i+1)
    return {"video": vid, "status": "done", "evaluated": True, "id": ident[0], "source": f"{T}/videos/{vid}.mp4", "edited_video": f"{T}/videos/{vid}.edited.mp4",
            "id_raw": 0.93, "tl_id": 1.01, "tg_id": 0.99, "success_rate": 1.0,
            "faithfulness": 0.8, "preservation": 0.01, "locality_pixels": 0.9, "flicker": 0.5, "frames": n,
            "frames_no_face": 0, "per_frame": {"frame": list(range(n)), "time_s": t, "id": ident, "tl_id": tl, "achieved": None}}
vs = [video("a", 0.0), video("b", 1.0)]
summary = {"videos": 2, "videos_evaluated": 2, "id": 0.92, "id_raw": 0.93, "id_euclidean": 0.3, "tl_id": 1.01,
           "tg_id": 0.99, "tl_id_raw": 1.0, "tg_id_raw": 1.0, "pairs_excluded": 0, "success_rate": 1.0,
           "faithfulness": 0.8, "preservation": 0.01, "locality_landmarks": 0.95, "locality_pixels": 0.9,
           "flicker": 0.5, "jitter_ratio": 1.1, "frames": 40, "frames_no_face": 0}
# "edited" names the chain's real edit output: its manifest names the editor that made it (the comparison table's
# "editor" column is found that way).
json.dump({"schema": "s3editor.video_metrics", "version": 1, "edited": f"{T}/runs/chain/edited.h5",
           "identity_net": "face-api descriptor", "summary": summary,
           "attributes": {"smile": {"asked": 0.1, "achieved": 0.08, "success_rate": 1.0}}, "videos": vs},
          open(f"{T}/runs/eval/metrics.json", "w"), indent=1)
# A sweep over K and the sparsity rate with two seeds each (the table as `sweep` writes it, and its points).
import itertools, random
random.seed(1)
axes = {"editor.clusters": ["3", "5", "8"], "sparsity.rate": ["0.05", "0.1"], "run.seed": ["1", "2"]}
points, table = [], []
for k, r in itertools.product(axes["editor.clusters"], axes["sparsity.rate"]):
    ms = []
    for s in axes["run.seed"]:
        m = {"success": 0.5 + 0.04 * int(k) - float(r) + random.uniform(-0.03, 0.03),
             "identity": 0.99 - 0.1 * float(r) + random.uniform(-0.005, 0.005)}
        ms.append(m)
        points.append({"name": f"k{k}_r{r}_s{s}", "folder": f"points/k{k}_r{r}_s{s}",
                       "params": {"editor.clusters": k, "sparsity.rate": r, "run.seed": s}, "status": "done",
                       "metrics": m})
    mean = {key: sum(m[key] for m in ms) / len(ms) for key in ms[0]}
    std = {key: math.sqrt(sum((m[key] - mean[key]) ** 2 for m in ms) / (len(ms) - 1)) for key in ms[0]}
    table.append({"params": {"editor.clusters": k, "sparsity.rate": r}, "seeds": len(ms), "mean": mean, "std": std})
import os
os.makedirs(f"{T}/runs/sweep", exist_ok=True)
json.dump({"schema": "s3editor.sweep", "version": 1, "grid": "grid.ini", "axes": axes, "seed_key": "run.seed",
           "points": points, "table": table}, open(f"{T}/runs/sweep/sweep.json", "w"), indent=1)
PY

# The report, of the whole runs/ folder.
start=$(date +%s%N)
"$BIN" report runs --run-dir report-run --log-level warn >report.log 2>&1 || { cat report.log; exit 1; }
echo "report written in $((($(date +%s%N) - start) / 1000000)) ms: $(stat -c %s runs/report.html) bytes"
check "the report is written where asked by default (<folder>/report.html)" '[[ -s runs/report.html ]]'
check "its manifest records the page as the output" '/usr/bin/python3 - <<"PY"
import json, os
m = json.load(open("report-run/report.manifest.json"))
assert m["outcome"] == "completed" and os.path.samefile(m["outputs"]["io.report"]["path"], "runs/report.html"), m["outputs"]
PY'
check "the page embeds the library, data and pictures, and names no external resource" '/usr/bin/python3 - <<"PY"
import re
html = open("runs/report.html", encoding="utf-8").read()
assert html.count("data-s3e-figure=") >= 10
assert "echarts" in html and "id=\"s3e-data\"" in html
# Outside the scripts (the library names URLs in its code, e.g. the SVG namespace), only data: and #anchors.
html = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
for attr in re.findall(r"(?:src|href)\s*=\s*[\"\x27]([^\"\x27]*)", html):
    assert attr.startswith(("data:", "#")), attr
PY'
check "lineage: every stage of the chain is listed, inputs traced to the stage that wrote them" \
  'for s in synth train-classifier train edit eval-latent; do grep -q "<h3>$s <span" runs/report.html || exit 1; done;
   grep -q "<td>train (chain/train)</td>" runs/report.html'
check "results first: edited frames, then the metrics, then the plots; lineage last" '/usr/bin/python3 - <<"PY"
import re
html = open("runs/report.html", encoding="utf-8").read()
h2 = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
assert h2[0] == "Edited frames beside the source" and h2[1] == "Metrics" and h2[-1] == "Lineage", h2
assert html.index("frames:a") < html.index("edited videos compared") < html.index("video-id:a"), "order"
PY'
check "the comparison table has a row per eval run, naming the editor through the edit manifest" \
  '/usr/bin/python3 - <<"PY"
import re
html = open("runs/report.html", encoding="utf-8").read()
table = html[html.index("edited videos compared"):].split("</table>")[0]
rows = [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in table.split("<tr")[1:]]
rows = [r for r in rows if r]
assert len(rows) == 1 and rows[0][:6] == ["eval", "S3Editor (chain/editor)", "smile 0.1", "0.92", "1.01", "0.99"], rows
PY'
rc=0; "$BIN" report "$T/nowhere" --run-dir report-bad --log-level warn >bad.log 2>&1 || rc=$?
check "a missing folder: exit 2 naming it" '((rc == 2)) && grep -q "nowhere is not a folder" bad.log'
rc=0; "$BIN" report runs --chart-js "$T/none.js" --run-dir report-bad --log-level warn >bad.log 2>&1 || rc=$?
check "a missing charting library: exit 2 naming it" '((rc == 2)) && grep -q "none.js: no such file" bad.log'

# Render it with no network at all and check every figure.
mkdir -p shot
ip netns add "$NS"
check "the page draws every figure in Chromium with no network" \
  'ip netns exec "$NS" node "$HERE/report_screenshot.js" runs/report.html shot "$NODE_MODULES/puppeteer-core" \
     "train:*:losses" "train:*:sparsity" "ablation:*" "video-id:" "frames:" "masks:" "routing:" | tee shot.log'
check "figures: 2 per training log at least, 4 ablation charts, 2 videos x (ID chart + strip), masks and routing" \
  '/usr/bin/python3 - <<"PY"
import json
names = [f["name"] for f in json.load(open("shot/figures.json"))]
count = lambda p: sum(n.startswith(p) for n in names)
assert count("ablation:") == 4 and count("video-id:") == 2 and count("frames:") == 2, names
assert count("masks:chain/editor/") == 1 and count("routing:chain/editor/") == 1, names  # shown once, by the editor
assert count("train:") >= 4, names
PY'
# The checks can fail: a library that draws nothing leaves every chart box blank, and a page that reaches out is
# caught (its request, or the console error of the blocked load).
printf 'window.echarts = {init: function () { return {on: function (e, f) { setTimeout(f, 0); }, off: function () {},
  setOption: function () {}}; }};\n' > stub.js
"$BIN" report runs --chart-js stub.js --out stub.html --run-dir report-stub --log-level warn >stub.log 2>&1
sed 's|</body>|<img src="http://192.0.2.1/pixel.png"></body>|' runs/report.html > reaching.html
mkdir -p shot-stub shot-reaching
check "negative control: blank chart boxes fail the screenshot check" \
  '! ip netns exec "$NS" node "$HERE/report_screenshot.js" stub.html shot-stub "$NODE_MODULES/puppeteer-core" >stub-shot.log 2>&1 &&
   grep -q "FAILED: figure train:.*:losses is not drawn" stub-shot.log && ! grep -q "FAILED: figure frames:" stub-shot.log'
check "negative control: a page that loads a remote picture fails" \
  '! ip netns exec "$NS" node "$HERE/report_screenshot.js" reaching.html shot-reaching "$NODE_MODULES/puppeteer-core" \
     >reaching.log 2>&1 && grep -Eq "FAILED: (the page requested|console error|request failed).*192.0.2.1" reaching.log'
if [[ -n "${S3E_KEEP_TEST_FILES:-}" ]]; then mkdir -p "$S3E_KEEP_TEST_FILES"; cp runs/report.html shot/report.png "$S3E_KEEP_TEST_FILES/"; fi
echo "$passes passed, $failures failed"
((failures == 0))
