#!/usr/bin/env python3
"""Independent python3-torch reference for the editor's training maths (driven by tests/metrics/test_edit_reference.cpp).

Reads the inputs, initial parameters and the C++ results (.npy files) from a folder, recomputes in float64:
  * the editor transforms: region_mlp (K experts, hidden neurons in region blocks that write only their region's
    dims, pruned groups masked, routing-weighted sum; `--expert-mode refine`: the experts refine the linear edit,
    z' = z_lin + g M(z_lin, c e, g) with z_lin = z + g s e) and lt_linear (Latent Transformer's per-layer EqualLinear maps,
    weight * lr_mul / sqrt(C), bias * lr_mul), z' = z + g * M(z, e);
  * Latent Transformer's losses (trainer.py of the public LT code): class-balanced BCE with
    T_coeff = B / #pos and F_coeff = B / #neg, reconstruction MSE, regularisation MSE of the other logits masked by
    1 - |label correlation|; plus the S3Editor identity-probe and cycle terms;
  * two torch.optim.Adam steps,
and compares losses, the edited latents, gradients and parameters after each step with the C++ values.
Exit status 1 when any value differs by more than --tolerance relative to max(1, |reference|).
"""
import argparse
import glob
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--transform", choices=["region_mlp", "lt_linear"], required=True)
    for name in ["faith", "recon", "reg", "identity", "cycle", "lr", "weight-decay", "lr-mul"]:
        ap.add_argument("--" + name, type=float, required=True)
    ap.add_argument("--expert-mode", choices=["scratch", "refine"], default="scratch")
    ap.add_argument("--linear-scale", type=float, default=1.0)      # s
    ap.add_argument("--embedding-scale", type=float, default=1.0)   # c
    ap.add_argument("--tolerance", type=float, default=1e-5)
    a = ap.parse_args()
    torch.set_default_dtype(torch.float64)

    def load(name):
        return torch.from_numpy(np.load(os.path.join(a.dir, name + ".npy")).astype(np.float64))

    clf = [load("clf_%d" % i) for i in range(6)]  # fc1.weight, fc1.bias, fc2.weight, fc2.bias, fc3.weight, fc3.bias

    def classifier(z):  # Latent Transformer's LCNet
        h = F.leaky_relu(F.linear(z, clf[0], clf[1]), 0.2)
        h = F.leaky_relu(F.linear(h, clf[2], clf[3]), 0.2)
        return F.linear(h, clf[4], clf[5])

    edit_index = load("edit_index").long()
    embeddings, routing = load("embeddings"), load("routing")
    corr, basis = load("label_correlation"), load("identity_basis")
    z_in, attribute, g, target = load("z_in"), load("attribute").long(), load("g"), load("target")
    names = sorted(os.path.basename(p)[3:-4] for p in glob.glob(os.path.join(a.dir, "p0_*.npy")))
    params = {n: load("p0_" + n).clone().requires_grad_(True) for n in names}
    K = routing.shape[1]
    De = edit_index.numel()

    if a.transform == "region_mlp":
        region = load("region_of_dim").long()
        group_mask = load("group_mask")
        R = int(region.max()) + 1
        H = group_mask.shape[1]
        block = torch.arange(H) // (H // R)
        w2_mask = (region[:, None] == block[None, :]).double()  # neuron block r writes only region r's dims

        def delta(z, e, route, gg):
            if a.expert_mode == "refine":  # the experts see the linear edit's result, the scaled embedding and g
                x = torch.cat([z + gg[:, None] * a.linear_scale * e, a.embedding_scale * e, gg[:, None]], 1)
            else:
                x = torch.cat([z, e], 1)
            out = torch.zeros_like(z)
            for k in range(K):
                m = group_mask[k]
                w1, b1, w2 = params["expert%d_w1" % k], params["expert%d_b1" % k], params["expert%d_w2" % k]
                hidden = F.leaky_relu(x @ (w1 * m[:, None]).t() + b1 * m, 0.2)
                out = out + route[:, k:k + 1] * (hidden @ (w2 * w2_mask * m[None, :]).t())
            return out + a.linear_scale * e if a.expert_mode == "refine" else out
    else:
        C = params["lt0_weight"].shape[1]
        L = De // C

        def equal_linear(x, weight, bias):  # StyleGAN2 EqualLinear (rosinality), as used by Latent Transformer
            return F.linear(x, weight * (a.lr_mul / np.sqrt(C)), bias * a.lr_mul)

        def delta(z, e, route, gg):
            out = torch.zeros_like(z)
            zl = z.view(-1, L, C)
            for k in range(K):
                w, b = params["lt%d_weight" % k], params["lt%d_bias" % k]
                mk = torch.stack([equal_linear(zl[:, l], w[l], b[l]) for l in range(L)], 1).reshape(-1, L * C)
                out = out + route[:, k:k + 1] * mk
            return out

    def transform(z, e, gg, route):
        return z + gg[:, None] * delta(z, e, route, gg)

    def probe(v):
        return v - (v @ basis.t()) @ basis

    e, route = embeddings[attribute], routing[attribute]

    def losses():
        ze = z_in[:, edit_index]
        ze1 = transform(ze, e, g, route)
        z1 = z_in.clone()
        z1[:, edit_index] = ze1
        with torch.no_grad():
            logit0 = classifier(z_in)
        logit1 = classifier(z1)
        B = target.shape[0]
        t_coeff = B / (target.sum() + 1e-8)
        f_coeff = B / (B - target.sum() + 1e-8)
        mask_pb = t_coeff * target + f_coeff * (1 - target)
        faith = F.binary_cross_entropy_with_logits(logit1.gather(1, attribute[:, None])[:, 0], target,
                                                   weight=mask_pb, reduction="mean")
        recon = F.mse_loss(ze1, ze)
        lt_recon = F.mse_loss(z1, z_in)  # Latent Transformer averages over the whole latent
        mask = 1 - corr[attribute].abs()
        reg = F.mse_loss(logit1 * mask, logit0 * mask)
        ident = (1 - F.cosine_similarity(probe(ze1), probe(ze), dim=1)).mean() if a.identity > 0 else torch.zeros(())
        cycle = F.mse_loss(transform(ze1, e, -g, route), ze) if a.cycle > 0 else torch.zeros(())
        total = a.faith * faith + a.recon * recon + a.reg * reg + a.identity * ident + a.cycle * cycle
        return torch.stack([faith, recon, reg, ident, cycle, total]), z1, lt_recon

    worst = {"value": 0.0, "what": ""}
    count = [0]

    def compare(what, cpp, ref):
        ref = ref.detach()
        diff = ((cpp - ref).abs() / ref.abs().clamp_min(1.0)).max().item() if ref.numel() else 0.0
        count[0] += ref.numel()
        if diff > worst["value"]:
            worst.update(value=diff, what=what)
        return diff

    opt = torch.optim.Adam(list(params.values()), lr=a.lr, weight_decay=a.weight_decay)
    report = []
    for step in (1, 2):
        opt.zero_grad()
        l, z1, lt_recon = losses()
        l[5].backward()
        report.append("step %d losses (faith, recon, reg, identity, cycle, total): python %s  C++ %s  max diff %.2e" % (
            step, np.array2string(l.detach().numpy(), precision=7), np.array2string(load("loss%d" % step).numpy(), precision=7),
            compare("loss%d" % step, load("loss%d" % step), l)))
        if step == 1:
            report.append("edited latents: max diff %.2e" % compare("z_edit", load("z_edit"), z1))
            report.append("note: Latent Transformer's recon over the whole latent would be %.7f = ours x De/D (%d/%d)"
                          % (lt_recon.item(), De, z_in.shape[1]))
        gd = max(compare("g%d_%s" % (step, n), load("g%d_%s" % (step, n)), p.grad) for n, p in params.items())
        opt.step()
        pd = max(compare("p%d_%s" % (step, n), load("p%d_%s" % (step, n)), p) for n, p in params.items())
        report.append("step %d: gradients max diff %.2e, parameters after Adam max diff %.2e" % (step, gd, pd))
    print("\n".join("[%s] %s" % (a.transform, r) for r in report))
    print("[%s] max relative difference %.3e (%s) over %d values; tolerance %.0e" % (
        a.transform, worst["value"], worst["what"] or "-", count[0], a.tolerance))
    return 0 if worst["value"] <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
