#!/usr/bin/env python3
"""python3-torch baseline for bench_train.sh: the same training step as `s3editor train` (frozen LCNet classifier,
region_mlp experts or Latent Transformer's lt_linear transforms, supervised flips, Latent Transformer's losses, Adam),
reading its 32-row batches from the same store with h5py. Prints samples/s over the timed steps.

usage: bench_train_reference.py STORE --transform region_mlp|lt_linear [--steps 30] [--warmup 5] [--batch 32]
       [--experts 5] [--hidden-total 960] [--edit-layers 11] [--heldout 8] [--threads 1]"""
import argparse
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--transform", choices=["region_mlp", "lt_linear"], required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--experts", type=int, default=5)
    ap.add_argument("--hidden-total", type=int, default=960)
    ap.add_argument("--edit-layers", type=int, default=11)
    ap.add_argument("--heldout", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    f = h5py.File(a.store, "r")
    latents, labels = f["latents"], f["labels"]
    n, layers, channels = latents.shape
    A = labels.shape[1]
    D, De = layers * channels, a.edit_layers * channels
    train_attrs = A - a.heldout
    edit_index = torch.arange(De)
    # Frozen classifier (LCNet) and normalisation; weights are random: speed does not depend on them.
    clf = torch.nn.Sequential(torch.nn.Linear(D, 2048), torch.nn.LeakyReLU(0.2), torch.nn.Linear(2048, 512),
                              torch.nn.LeakyReLU(0.2), torch.nn.Linear(512, A))
    for p in clf.parameters():
        p.requires_grad_(False)
    first = torch.from_numpy(latents[: min(n, 2000)].reshape(-1, D))
    mean, std = first.mean(0), first.std(0).clamp_min(1e-6)
    emb = F.normalize(torch.randn(A, De), dim=1)
    corr_mask = 1 - torch.eye(A)
    if a.transform == "region_mlp":
        K, R = a.experts, a.experts + 1
        H = max(R, a.hidden_total // K)
        H -= H % R
        region = torch.randint(0, R, (De,))
        block = torch.arange(H) // (H // R)
        w2_mask = (region[:, None] == block[None, :]).float()
        w1 = [torch.nn.Parameter(torch.randn(H, 2 * De) / (2 * De) ** 0.5) for _ in range(K)]
        b1 = [torch.nn.Parameter(torch.zeros(H)) for _ in range(K)]
        w2 = [torch.nn.Parameter(torch.randn(De, H) * 0.1 / H ** 0.5) for _ in range(K)]
        params = w1 + b1 + w2
        expert_of = torch.arange(A) % K
    else:
        K = train_attrs
        lt_w = [torch.nn.Parameter(torch.randn(a.edit_layers, channels, channels)) for _ in range(K)]
        lt_b = [torch.nn.Parameter(torch.zeros(a.edit_layers, channels)) for _ in range(K)]
        params = lt_w + lt_b
        expert_of = torch.arange(A).clamp_max(K - 1)
    opt = torch.optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(0)

    def delta(ze, e, attr):
        out = torch.zeros_like(ze)
        for k in range(K):
            rows = (expert_of[attr] == k).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            if a.transform == "region_mlp":
                h = F.leaky_relu(F.linear(torch.cat([ze[rows], e[rows]], 1), w1[k], b1[k]), 0.2)
                m = F.linear(h, w2[k] * w2_mask)
            else:
                zl = ze[rows].view(-1, a.edit_layers, channels).transpose(0, 1)
                m = torch.baddbmm(lt_b[k].unsqueeze(1), zl, lt_w[k].transpose(1, 2) / channels ** 0.5)
                m = m.transpose(0, 1).reshape(-1, De)
            out = out.index_add(0, rows, m)
        return out

    def step():
        rows = np.sort(rng.choice(n, a.batch, replace=False))
        z = (torch.from_numpy(latents[rows].reshape(a.batch, D)) - mean) / std
        attr = torch.randint(0, train_attrs, (a.batch,))
        with torch.no_grad():
            logits0 = clf(z)
        p = torch.sigmoid(logits0.gather(1, attr[:, None]).squeeze(1))
        g = torch.where(p > 0.5, -p, 1 - p)
        target = (p <= 0.5).float()
        ze = z[:, :De]
        ze1 = ze + g[:, None] * delta(ze, emb[attr], attr)
        z1 = torch.cat([ze1, z[:, De:]], 1)
        logits1 = clf(z1)
        pos = target.sum()
        w = target * a.batch / (pos + 1e-8) + (1 - target) * a.batch / (a.batch - pos + 1e-8)
        faith = (F.binary_cross_entropy_with_logits(logits1.gather(1, attr[:, None]).squeeze(1), target,
                                                    reduction="none") * w).mean()
        recon = F.mse_loss(ze1, ze)
        m = corr_mask[attr]
        reg = F.mse_loss(logits1 * m, logits0 * m)
        loss = faith + 10 * recon + reg
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - t
    print(f"python3-torch {a.transform}: {a.steps * a.batch / secs:.1f} samples/s "
          f"({a.steps} steps of {a.batch}, {a.threads} thread(s), torch {torch.__version__})")


if __name__ == "__main__":
    main()
