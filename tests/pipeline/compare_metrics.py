#!/usr/bin/python3
"""compare_metrics.py EXPECTED.json ACTUAL.json [TOL] — every number of the expected eval-latent metrics (summary and
per attribute) equals the actual one within TOL (default 1e-6); the strings that name inputs are not compared.
Prints each difference; exits 1 if any."""
import json
import math
import sys

expected, actual = (json.load(open(p)) for p in sys.argv[1:3])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-6
bad = []
compared = 0


def walk(e, a, where):
    global compared
    if isinstance(e, dict):
        for k, v in e.items():
            if where == "" and k == "inputs":
                continue
            if k not in a:
                bad.append(f"{where}/{k}: missing")
                continue
            walk(v, a[k], f"{where}/{k}")
    elif isinstance(e, list):
        if len(e) != len(a):
            bad.append(f"{where}: {len(e)} entries expected, {len(a)} found")
            return
        for i, (x, y) in enumerate(zip(e, a)):
            walk(x, y, f"{where}[{i}]")
    elif isinstance(e, (int, float)) and not isinstance(e, bool):
        compared += 1
        if a is None or not math.isclose(e, a, rel_tol=0, abs_tol=tol):
            bad.append(f"{where}: expected {e}, found {a}")
    elif e != a:
        bad.append(f"{where}: expected {e!r}, found {a!r}")


walk(expected, actual, "")
for b in bad:
    print(b)
print(f"compare_metrics: {compared} numbers compared, {len(bad)} differences (tolerance {tol})")
sys.exit(1 if bad or compared == 0 else 0)
