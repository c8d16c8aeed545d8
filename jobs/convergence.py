#!/usr/bin/env python3
"""Convergence verdicts and loss curves of training runs (docs/results.md section 7).

usage: convergence.py [--svg-dir DIR] RUN[:PHASES] ...
  RUN     a train run folder (its logs/train.jsonl, one line per logged step: loss, faith, recon, reg, identity, cycle)
  PHASES  the run trains its steps in that many equal phases, one attribute each (Latent Transformer's per-attribute
          schedule): each phase is judged on its own, since its loss is another attribute's

Criterion (issue 16): a loss has converged when its moving average changes by less than 1% over the last 20% of the
steps: the mean over the last 20% of the logged steps against the mean over the 20% before them, relative to the
last. The logged losses are single batches, so the two means carry noise; the table gives the change beside twice its
standard error (2 se): a change inside 2 se shows no trend the log can resolve, even when it is above 1%.
A loss that is zero on every logged step (a weight of 0) is not judged. Prints a markdown table; with --svg-dir writes
<DIR>/curves_<run name>.svg: one panel per loss, the logged values, their moving average and the last-20% window.
"""
import argparse
import json
import math
import os
import statistics

LOSSES = ["loss", "faith", "recon", "reg", "identity", "cycle"]


def read_log(run):
    with open(os.path.join(run, "logs", "train.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def window_change(values):
    """(relative change, 2 standard errors relative) between the means of the last 20% and the 20% before."""
    n = len(values)
    k = max(2, n // 5)
    if n < 2 * k:
        return None
    last, before = values[n - k:], values[n - 2 * k:n - k]
    m_last, m_before = statistics.mean(last), statistics.mean(before)
    se = math.sqrt(statistics.variance(last) / k + statistics.variance(before) / k)
    scale = max(abs(m_last), 1e-12)
    return abs(m_last - m_before) / scale, 2 * se / scale


def judge(rows, phases):
    """Per loss: worst change over the phases, its 2 se, phases under 1%, phases inside 2 se."""
    steps = rows[-1]["step"]
    out = {}
    for name in LOSSES:
        if all(r.get(name, 0) == 0 for r in rows):
            continue
        worst, worst_se, strict, within = 0.0, 0.0, 0, 0
        for p in range(phases):
            lo, hi = steps * p / phases, steps * (p + 1) / phases
            values = [r[name] for r in rows if lo < r["step"] <= hi]
            change = window_change(values)
            if change is None:
                continue
            rel, se2 = change
            strict += rel < 0.01
            within += rel < 0.01 or rel <= se2
            if rel >= worst:
                worst, worst_se = rel, se2
        out[name] = (worst, worst_se, strict, within)
    return out


def moving_average(values, k):
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= k:
            total -= values[i - k]
        out.append(total / min(i + 1, k))
    return out


def svg_curves(rows, title, path, phases=1):
    names = [n for n in LOSSES if not all(r.get(n, 0) == 0 for r in rows)]
    width, panel_h, pad = 720, 150, 40
    height = 44 + len(names) * (panel_h + pad)
    steps = [r["step"] for r in rows]
    x_max = max(steps)
    per_phase = f" of each of the {phases} phases" if phases > 1 else ""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="14" font-size="13">{title}</text>',
             f'<text x="10" y="27">grey: logged single-batch losses; blue: moving average (10% of the points); '
             f'shaded: the last 20% of the steps{per_phase}</text>']
    for i, name in enumerate(names):
        top = 44 + i * (panel_h + pad)
        values = [r[name] for r in rows]
        lo, hi = min(values), max(values)
        if hi <= lo:
            hi = lo + 1
        x = lambda s: 60 + (width - 80) * s / x_max  # noqa: E731
        y = lambda v: top + panel_h - panel_h * (v - lo) / (hi - lo)  # noqa: E731
        for p in range(phases):
            lo_s, hi_s = x_max * (p + 0.8) / phases, x_max * (p + 1) / phases
            parts.append(f'<rect x="{x(lo_s):.1f}" y="{top}" width="{x(hi_s) - x(lo_s):.1f}" height="{panel_h}" '
                         'fill="#eef"/>')
        parts.append(f'<rect x="60" y="{top}" width="{width - 80}" height="{panel_h}" fill="none" stroke="#999"/>')
        parts.append(f'<text x="62" y="{top - 4}">{name}</text>')
        parts.append(f'<text x="4" y="{top + 10}">{hi:.3g}</text><text x="4" y="{top + panel_h}">{lo:.3g}</text>')
        stride = max(1, len(values) // 1200)  # at most ~1200 points a line: the file stays small, the plot the same
        raw = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in list(zip(steps, values))[::stride])
        parts.append(f'<polyline points="{raw}" fill="none" stroke="#bbb" stroke-width="0.7"/>')
        for p in range(phases):  # the moving average restarts with each phase (another attribute's loss)
            span = [(s, v) for s, v in zip(steps, values) if x_max * p / phases < s <= x_max * (p + 1) / phases]
            if not span:
                continue
            ma = moving_average([v for _, v in span], max(2, len(span) // 10))
            smooth = " ".join(f"{x(s):.1f},{y(v):.1f}" for (s, _), v in list(zip(span, ma))[::stride])
            parts.append(f'<polyline points="{smooth}" fill="none" stroke="#1f5fbf" stroke-width="1.6"/>')
        parts.append(f'<text x="{width - 60}" y="{top + panel_h + 14}">step {x_max}</text>')
    parts.append("</svg>")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(parts))
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--svg-dir")
    args = parser.parse_args()
    print("| run | steps | loss | change over the last 20% | 2 se | phases < 1% | phases without a resolvable trend |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.runs:
        run, _, phases = spec.partition(":")
        phases = int(phases or 1)
        rows = read_log(run)
        name = os.path.basename(os.path.dirname(run.rstrip("/"))) or run
        for loss, (worst, se2, strict, within) in judge(rows, phases).items():
            print(f"| {name} | {rows[-1]['step']} | {loss} | {100 * worst:.2f}% | {100 * se2:.2f}% | "
                  f"{strict}/{phases} | {within}/{phases} |")
        if args.svg_dir:
            os.makedirs(args.svg_dir, exist_ok=True)
            svg_curves(rows, name, os.path.join(args.svg_dir, f"curves_{name}.svg"), phases)


if __name__ == "__main__":
    main()
