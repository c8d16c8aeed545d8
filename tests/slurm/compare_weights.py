#!/usr/bin/env python3
"""compare_weights.py A.pt B.pt [TOL]: two editor_weights.pt (TorchScript modules written by `s3editor train`) hold
the same parameters and buffers: bit for bit without TOL, else each tensor within TOL relative (|a-b| / |a|, norms).
Prints one line per differing tensor; exit 0 when equal."""
import sys

import torch


def tensors(path):
    m = torch.jit.load(path)
    out = {"param:" + n: t.detach() for n, t in m.named_parameters()}
    out.update({"buffer:" + n: t.detach() for n, t in m.named_buffers()})
    return out


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else None
bad = 0
if sorted(a) != sorted(b):
    print(f"different tensors: {sorted(set(a) ^ set(b))}")
    sys.exit(1)
worst = 0.0
for name in sorted(a):
    x, y = a[name], b[name]
    if x.shape != y.shape or x.dtype != y.dtype:
        print(f"{name}: {tuple(x.shape)} {x.dtype} vs {tuple(y.shape)} {y.dtype}")
        bad += 1
        continue
    if tol is None:
        if not torch.equal(x, y):
            print(f"{name}: not bit-identical (max |diff| {(x.double() - y.double()).abs().max().item():.3g})")
            bad += 1
    else:
        rel = (x.double() - y.double()).norm().item() / max(1e-12, x.double().norm().item())
        worst = max(worst, rel)
        if rel > tol:
            print(f"{name}: relative difference {rel:.3g} > {tol}")
            bad += 1
print(f"compared {len(a)} tensors: {bad} differ" + (f" (worst relative difference {worst:.3g})" if tol else ""))
sys.exit(1 if bad else 0)
