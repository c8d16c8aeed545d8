#!/usr/bin/env python3
"""Builds the markdown results table of docs/results.md from eval-latent metrics.json files.

usage: results_table.py RUN_DIR METHOD... [--strength S] [--matched T]
  -> prints a table of mean +- std over seeds (RUN_DIR/METHOD/seed*/eval).
The last column, `train s`, is the wall time in seconds of train + edit + eval of each run, read from
RUN_DIR/METHOD/seed*/seconds.txt, which the job scripts write around the three commands (jobs/demo.sh,
jobs/results_synth.sh); n/a for runs without one.

Curves (`edit --strengths`, schema s3editor.latent_metrics_curve): the table reads the report at strength S
(default 1). --matched T prints instead the comparison at matched edit success T (eval-latent's matched_success,
docs/metrics.md): per method the strength at which it reaches success T and its metrics there, averaged over the
seeds that reach T (`reached` counts them; a seed whose curve does not bracket T is left out, never extrapolated)."""
import argparse
import glob
import json
import os
import statistics
import sys

COLUMNS = [("seen", "success", "edit success"), ("seen", "identity", "identity"),
           ("seen", "preservation_error", "attr. preservation err."), ("seen", "locality", "locality"),
           ("seen", "over_editing", "over-editing"), ("seen", "drift", "drift"),
           ("seen", "identity_leak", "identity leak"),
           ("unseen", "success", "unseen success"), ("unseen", "identity", "unseen identity")]


def cell(values, digits=3):
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


MATCHED_COLUMNS = [("seen", "strength", "strength"), ("seen", "success", "edit success"),
                   ("seen", "identity", "identity"), ("seen", "preservation_error", "attr. preservation err."),
                   ("seen", "locality", "locality"), ("seen", "over_editing", "over-editing"), ("seen", "drift", "drift"),
                   ("seen", "identity_leak", "identity leak"),
                   ("unseen", "strength", "unseen strength"), ("unseen", "identity", "unseen identity")]


def summary_at(doc, strength):
    """The summary of a single report, or of a curve's report at `strength` (None when the curve lacks it)."""
    if doc.get("schema") != "s3editor.latent_metrics_curve":
        return doc["summary"]
    for report in doc["by_strength"]:
        if abs(report["strength"] - strength) < 1e-9:
            return report["summary"]
    return None


def matched_at(doc, target):
    """{"seen": {...} or None, "unseen": ...} of eval-latent's matched_success at `target` (None when not there)."""
    matched = doc.get("matched_success") or {}
    for entry in matched.get("by_target", []):
        if abs(entry["target"] - target) < 1e-9:
            return entry
    return None


def number(group, key):
    return group[key] if group and isinstance(group.get(key), (int, float)) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("methods", nargs="+")
    parser.add_argument("--strength", type=float, default=1.0, help="curves: the strength whose report is tabled")
    parser.add_argument("--matched", type=float, help="table at this matched edit success instead")
    args = parser.parse_args()
    columns = MATCHED_COLUMNS if args.matched is not None else COLUMNS
    extra = " | reached | unseen reached" if args.matched is not None else ""
    if args.matched is not None:
        print(f"At matched edit success {args.matched} (strength and metrics interpolated between the two strengths "
              "whose success brackets it):\n")
    print("| method | seeds | " + " | ".join(c[2] for c in columns) + extra + " | train s |")
    print("|---|---|" + "---|" * len(columns) + ("---|---|" if extra else "") + "---|")
    for method in args.methods:
        files = sorted(glob.glob(os.path.join(args.run, method, "seed*", "eval", "metrics.json")))
        docs = [json.load(open(f)) for f in files]
        seconds = []
        for f in files:
            s = os.path.join(os.path.dirname(os.path.dirname(f)), "seconds.txt")
            if os.path.exists(s):
                seconds.append(float(open(s).read()))
        if args.matched is not None:
            groups = [matched_at(d, args.matched) or {} for d in docs]
        else:
            groups = [summary_at(d, args.strength) or {} for d in docs]
        cells = [cell([v for v in (number(g.get(split), key) for g in groups) if v is not None])
                 for split, key, _ in columns]
        row = f"| {method} | {len(files)} | " + " | ".join(cells)
        if args.matched is not None:
            for split in ("seen", "unseen"):
                row += f" | {sum(1 for g in groups if g.get(split))}/{len(files)}"
        print(row + f" | {cell(seconds, 0)} |")


if __name__ == "__main__":
    main()
