#!/usr/bin/env python3
"""Builds the markdown results table of docs/results.md from eval-latent metrics.json files.

usage: results_table.py RUN_DIR METHOD... -> prints a table of mean +- std over seeds (RUN_DIR/METHOD/seed*/eval).
The last column, `train s`, is the wall time in seconds of train + edit + eval of each run, read from
RUN_DIR/METHOD/seed*/seconds.txt, which the job scripts write around the three commands (jobs/demo.sh,
jobs/results_synth.sh); n/a for runs without one."""
import glob
import json
import os
import statistics
import sys

COLUMNS = [("seen", "success", "edit success"), ("seen", "identity", "identity"),
           ("seen", "preservation_error", "attr. preservation err."), ("seen", "locality", "locality"),
           ("seen", "over_editing", "over-editing"), ("seen", "drift", "drift"),
           ("unseen", "success", "unseen success"), ("unseen", "identity", "unseen identity")]


def cell(values, digits=3):
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main():
    run, methods = sys.argv[1], sys.argv[2:]
    print("| method | seeds | " + " | ".join(c[2] for c in COLUMNS) + " | train s |")
    print("|---|---|" + "---|" * len(COLUMNS) + "---|")
    for method in methods:
        files = sorted(glob.glob(os.path.join(run, method, "seed*", "eval", "metrics.json")))
        summaries = [json.load(open(f))["summary"] for f in files]
        seconds = []
        for f in files:
            s = os.path.join(os.path.dirname(os.path.dirname(f)), "seconds.txt")
            if os.path.exists(s):
                seconds.append(float(open(s).read()))
        cells = [cell([s[split][key] for s in summaries if split in s]) for split, key, _ in COLUMNS]
        print(f"| {method} | {len(files)} | " + " | ".join(cells) + f" | {cell(seconds, 0)} |")


if __name__ == "__main__":
    main()
