#!/usr/bin/env python3
"""Write a small TorchScript backbone folder for the tests (docs/backbones.md, "TorchScript backbones"):
backbone.json, encoder.pt, generator.pt and (with --attributes > 0) classifier.pt, random weights, fixed seed.

  make_torchscript_backbone.py --out DIR [--defect none|arity|shape|dtype|nonfinite] [--latent-shape 18,16]
                               [--size 64] [--generator-size N] [--defect-module encoder|generator|classifier]
                               [--attributes 4] [--decode residual|direct] [--seed 0]

--defect breaks one module (default: arity -> encoder, shape -> generator (non-square images), dtype -> classifier
(float64), nonfinite -> generator (NaN)); the C++ loader must reject the folder naming that file.
The model builders are the docs' export script's (docs/backbones/export_torchscript.py).
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "backbones"))
import export_torchscript as ets  # noqa: E402

DEFAULT_DEFECT_MODULE = {"arity": "encoder", "shape": "generator", "dtype": "classifier", "nonfinite": "generator"}


class TwoInputs(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x, extra):
        return self.module(x)


class WrongShape(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)[..., :-1]  # drops the last code number / image column / attribute


class WrongDtype(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x).double()


class NonFinite(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x) + float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--defect", default="none", choices=["none", "arity", "shape", "dtype", "nonfinite"])
    parser.add_argument("--defect-module", choices=["encoder", "generator", "classifier"])
    parser.add_argument("--latent-shape", default="18,16")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--generator-size", type=int, help="side of the generated images (default: --size)")
    parser.add_argument("--attributes", type=int, default=4, help="classifier outputs (0: no classifier.pt)")
    parser.add_argument("--decode", default="residual", choices=["residual", "direct"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    latent_shape = [int(v) for v in args.latent_shape.split(",")]
    encoder, generator, classifier = ets.build_tiny_random(latent_shape, args.size, args.generator_size,
                                                           args.attributes, args.seed)
    images, latents = ets.example_inputs(encoder, args.size)
    modules = {"encoder": encoder, "generator": generator, "classifier": classifier}
    examples = {"encoder": images, "generator": latents, "classifier": latents}
    traced = {}
    target = args.defect_module or DEFAULT_DEFECT_MODULE.get(args.defect)
    for key, module in modules.items():
        if module is None:
            continue
        example = examples[key]
        if key == target:
            if args.defect == "arity":
                module, example = TwoInputs(module), (example, example)
            else:
                module = {"shape": WrongShape, "dtype": WrongDtype, "nonfinite": NonFinite}[args.defect](module)
        with torch.no_grad():
            traced[key + ".pt"] = torch.jit.trace(module.eval(), example, check_trace=False)
    if target is not None and target + ".pt" not in traced:
        parser.error(f"--defect-module {target}: that module is not written (--attributes 0?)")

    names = ets.CELEBA_ATTRIBUTES[:args.attributes]
    region_map = ets.stylegan_region_map(latent_shape)
    if names:
        region_map["attribute_regions"] = {names[0]: ["middle"]}
    sidecar = ets.sidecar_for("tiny-test", args.size, latent_shape, names, editable_layers=(0, 10),
                              region_map=region_map, decode=args.decode)
    ets.save_backbone(args.out, traced, sidecar)


if __name__ == "__main__":
    main()
