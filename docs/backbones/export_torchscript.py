#!/usr/bin/env python3
"""Export a face backbone to s3editor's TorchScript contract (docs/backbones.md, "TorchScript backbones").

Writes a folder with backbone.json, encoder.pt, generator.pt and classifier.pt:
  encoder.pt     images [B, 3, S, S] float32 in [-1, 1]  ->  W+ codes [B, 18, C]
  generator.pt   W+ codes [B, 18, C]                      ->  images [B, 3, H, H] in [-1, 1]
  classifier.pt  W+ codes [B, 18, C]                      ->  attribute logits [B, A]

Two modes:

  StyleGAN2 + e4e (or pSp) with real weights:
    python3 export_torchscript.py --out ffhq_e4e --psp-repo ~/src/encoder4editing \\
        --psp-checkpoint e4e_ffhq_encode.pt [--classifier latent_classifier.pth --classifier-dims 9216,2048,512,40]
  The e4e/pSp checkpoint holds both the encoder and the StyleGAN2 decoder; the repository provides their classes
  (models/psp.py). The graph is traced on the CPU and must contain only standard ATen ops: use a StyleGAN2 port whose
  upfirdn2d and fused_leaky_relu run natively on the CPU (the CUDA-extension ops cannot be loaded by LibTorch).
  The classifier is an MLP over the flattened W+ codes with the layer layout of Latent Transformer's latent
  classifier (fcs.0, fcs.1, ...; ReLU between); it is loaded strictly, so another layout fails loudly.

  --tiny-random: random-weight models of the same shapes (an e4e-shaped encoder to W+ [18, C] codes, a
  StyleGAN-shaped image generator fed by bands of W+ layers, a linear latent classifier over the 40 CelebA
  attributes). No weights needed; the tests export one and load it with the C++ loader. Its model builders are also
  what tests/backbone/make_torchscript_backbone.py builds its test backbones with.

Runs with Python 3 and torch (1.13 here). Nothing is downloaded.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

# The 40 CelebA attributes, in the dataset's order (what Latent Transformer's classifier predicts).
CELEBA_ATTRIBUTES = [
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose",
    "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses",
    "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young",
]


def latent_layers(latent_shape):
    """(layers, numbers per layer) of a latent shape: [18, 512] -> (18, 512), [512] -> (1, 512)."""
    if len(latent_shape) == 1:
        return 1, latent_shape[0]
    return latent_shape[0], math.prod(latent_shape[1:])


# ---------------------------------------------------------------------------------------------------------------
# Tiny random-weight models with the shapes of the real ones.

class TinyEncoder(nn.Module):
    """e4e-shaped: strided convs, pooling, and a linear head to W+ codes (plus a latent average, as e4e adds)."""

    def __init__(self, latent_shape, channels=16):
        super().__init__()
        self.latent_shape = list(latent_shape)
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Linear(2 * channels * 16, math.prod(latent_shape))
        self.register_buffer("latent_avg", 0.1 * torch.randn(latent_shape))

    def forward(self, images):
        return self.head(self.features(images)).reshape([-1] + self.latent_shape) + self.latent_avg


class TinyGenerator(nn.Module):
    """StyleGAN-shaped: a learned 4x4 constant, upsampling convs modulated by bands of W+ layers (coarse to fine),
    a modulated toRGB and tanh. Every latent layer changes the image."""

    def __init__(self, latent_shape, size, channels=16):
        super().__init__()
        blocks = int(round(math.log2(size))) - 2
        if size < 8 or 2 ** (blocks + 2) != size:
            raise ValueError(f"generator size {size}: must be a power of two >= 8")
        self.layers, self.width = latent_layers(latent_shape)
        self.channels = channels
        # Band b of the latent layers modulates block b; the last band modulates toRGB.
        edges = [round(i * self.layers / (blocks + 1)) for i in range(blocks + 2)]
        self.bands = [(edges[i], max(edges[i + 1], edges[i] + 1)) for i in range(blocks + 1)]
        self.const = nn.Parameter(torch.randn(1, channels, 4, 4))
        self.start = nn.Linear(self.width, channels * 16)
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(blocks))
        self.styles = nn.ModuleList(nn.Linear(self.width, channels) for _ in range(blocks + 1))
        self.to_rgb = nn.Conv2d(channels, 3, 1)

    def forward(self, latents):
        w = latents.reshape(-1, self.layers, self.width)
        x = self.const + self.start(w[:, 0]).reshape(-1, self.channels, 4, 4)
        for i, conv in enumerate(self.convs):
            lo, hi = self.bands[i]
            style = 1 + self.styles[i](w[:, lo:hi].mean(1))
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x) * style[:, :, None, None], 0.2)
        lo, hi = self.bands[-1]
        x = x * (1 + self.styles[-1](w[:, lo:hi].mean(1)))[:, :, None, None]
        return torch.tanh(self.to_rgb(x))


class LatentMLP(nn.Module):
    """Attribute logits from flattened latents: Linear layers with ReLU between (dims [D, A] is a linear
    classifier). Layer names fcs.0, fcs.1, ... follow Latent Transformer's latent classifier."""

    def __init__(self, dims):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1))

    def forward(self, latents):
        x = latents.flatten(1)
        for fc in self.fcs[:-1]:
            x = F.relu(fc(x))
        return self.fcs[-1](x)


def build_tiny_random(latent_shape=(18, 512), size=256, generator_size=None, attributes=40, seed=0):
    """(encoder, generator, classifier or None) with random weights, seeded."""
    torch.manual_seed(seed)
    encoder = TinyEncoder(latent_shape).eval()
    generator = TinyGenerator(latent_shape, generator_size or size).eval()
    classifier = LatentMLP([math.prod(latent_shape), attributes]).eval() if attributes else None
    return encoder, generator, classifier


# ---------------------------------------------------------------------------------------------------------------
# Real weights: e4e / pSp (encoder4editing or pixel2style2pixel repository) and a latent classifier.

class PspEncoder(nn.Module):
    """e4e/pSp encoder to W+: codes + the latent average (what pSp.forward does with start_from_latent_avg)."""

    def __init__(self, net):
        super().__init__()
        self.encoder = net.encoder
        avg = getattr(net, "latent_avg", None)
        use_avg = avg is not None and getattr(net.opts, "start_from_latent_avg", True)
        self.register_buffer("latent_avg", avg.detach().cpu() if use_avg else torch.zeros(1))

    def forward(self, images):
        return self.encoder(images) + self.latent_avg


class StyleGanWPlus(nn.Module):
    """The StyleGAN2 generator driven by a W+ tensor (input_is_latent, fixed noise buffers: deterministic)."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, latents):
        images, _ = self.decoder([latents], input_is_latent=True, randomize_noise=False)
        return images


def build_psp(repo, checkpoint):
    sys.path.insert(0, os.path.abspath(repo))
    from argparse import Namespace

    from models.psp import pSp  # noqa: E402 (the repository's own module)

    ckpt = torch.load(checkpoint, map_location="cpu")
    opts = dict(ckpt["opts"])
    opts.update(checkpoint_path=checkpoint, device="cpu")
    net = pSp(Namespace(**opts)).eval().cpu()
    return PspEncoder(net).eval(), StyleGanWPlus(net.decoder).eval()


def build_classifier(path, dims):
    classifier = LatentMLP(dims)
    state = torch.load(path, map_location="cpu")
    classifier.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state, strict=True)
    return classifier.eval()


# ---------------------------------------------------------------------------------------------------------------
# Tracing and writing the folder.

def probe_images(size, batch=2):
    """A black image and a gradient image in [-1, 1] (the C++ loader probes with the same pair)."""
    images = torch.zeros(batch, 3, size, size)
    images[1] = torch.linspace(-1.0, 1.0, 3 * size * size).reshape(3, size, size)
    return images


def example_inputs(encoder, size):
    """(probe images, their latents): example inputs to trace the modules with."""
    images = probe_images(size)
    with torch.no_grad():
        latents = encoder(images)
    return images, latents


def trace(module, example):
    with torch.no_grad():
        return torch.jit.trace(module.eval(), example)


def trace_backbone(encoder, generator, classifier, size):
    """{file name: traced module} for the three modules."""
    images, latents = example_inputs(encoder, size)
    modules = {"encoder.pt": trace(encoder, images), "generator.pt": trace(generator, latents)}
    if classifier is not None:
        modules["classifier.pt"] = trace(classifier, latents)
    return modules


def sidecar_for(name, size, latent_shape, attribute_names, editable_layers=None, region_map=None, decode="residual"):
    layers, _ = latent_layers(latent_shape)
    sidecar = {"name": name, "input_size": size, "latent_shape": list(latent_shape), "alignment": "ffhq",
               "decode": decode}
    if editable_layers is not None:
        sidecar["editable_layers"] = [editable_layers[0], min(editable_layers[1], layers - 1)]
    if attribute_names:
        sidecar["attribute_names"] = list(attribute_names)
    if region_map is not None:
        sidecar["region_map"] = region_map
    return sidecar


def stylegan_region_map(latent_shape):
    """W+ layers in StyleGAN's three bands: coarse (pose, face shape), middle (features, expression), fine (colour)."""
    layers, _ = latent_layers(latent_shape)
    band = [0 if i < 4 else 1 if i < 8 else 2 for i in range(layers)]
    return {"region_names": ["coarse", "middle", "fine"], "region_of_layer": band}


def save_backbone(out, modules, sidecar):
    os.makedirs(out, exist_ok=True)
    for name, module in modules.items():
        module.save(os.path.join(out, name))
    with open(os.path.join(out, "backbone.json"), "w") as f:
        json.dump(sidecar, f, indent=2)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the backbone folder to write")
    parser.add_argument("--name", help="backbone.json name (default: the folder's name)")
    parser.add_argument("--tiny-random", action="store_true", help="random-weight models of the real shapes")
    parser.add_argument("--latent-shape", default="18,512", help="--tiny-random: W+ shape (default 18,512)")
    parser.add_argument("--size", type=int, default=256, help="aligned crop side the encoder reads (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="--tiny-random: weight seed")
    parser.add_argument("--psp-repo", help="encoder4editing or pixel2style2pixel checkout (its models/psp.py)")
    parser.add_argument("--psp-checkpoint", help="e4e/pSp checkpoint (encoder and StyleGAN2 decoder)")
    parser.add_argument("--classifier", help="latent classifier state dict (optional)")
    parser.add_argument("--classifier-dims", default="9216,2048,512,40", help="its layer widths")
    parser.add_argument("--attribute-names", default=",".join(CELEBA_ATTRIBUTES),
                        help="comma-separated, one per classifier output (default: the 40 CelebA attributes)")
    parser.add_argument("--editable-layers", default="0,10", help="first,last W+ layer an editor may change")
    args = parser.parse_args()

    attribute_names = [a for a in args.attribute_names.split(",") if a]
    if args.tiny_random:
        latent_shape = [int(v) for v in args.latent_shape.split(",")]
        encoder, generator, classifier = build_tiny_random(latent_shape, args.size, attributes=len(attribute_names),
                                                           seed=args.seed)
    else:
        if not (args.psp_repo and args.psp_checkpoint):
            parser.error("give --tiny-random, or --psp-repo and --psp-checkpoint")
        encoder, generator = build_psp(args.psp_repo, args.psp_checkpoint)
        classifier = None
        if args.classifier:
            dims = [int(v) for v in args.classifier_dims.split(",")]
            if dims[-1] != len(attribute_names):
                parser.error(f"--classifier-dims ends in {dims[-1]} outputs but {len(attribute_names)} names given")
            classifier = build_classifier(args.classifier, dims)
        with torch.no_grad():
            latent_shape = list(encoder(probe_images(args.size)).shape[1:])
    modules = trace_backbone(encoder, generator, classifier, args.size)
    first, last = (int(v) for v in args.editable_layers.split(","))
    sidecar = sidecar_for(args.name or os.path.basename(os.path.abspath(args.out)), args.size, latent_shape,
                          attribute_names if classifier is not None else [], editable_layers=(first, last),
                          region_map=stylegan_region_map(latent_shape))
    save_backbone(args.out, modules, sidecar)
    print(f"wrote {args.out}: latent_shape {latent_shape}, input_size {args.size}, "
          f"{len(modules)} modules ({', '.join(modules)})")


if __name__ == "__main__":
    main()
