"""Which VAE recipe keeps a D-ETG's lane? Train VAE variants, then round-trip a mock sky.

Each variant is the demo build's VAE stage (``demo.train_vae`` on the build's
training pairs, 48 px crops, the v3 preset's widths unless named) with one
change; each is saved under ``--out`` (a variant already there is measured,
not retrained) and judged by ``vae_roundtrip.measure``: the classifiers'
feature rates and the corners' sky before and after an encode/decode round
trip, and the share of the sky's D-ETGs with a band through the centre
(``lane_depth``), the figure a UNet cannot beat. ``seen`` is a diagnostic,
not a recipe: it adds the judged sky's own D-ETGs (64, each 40 times) to
training, an upper bound on what more data could do.

    python benchmarks/vae_variants.py --dataset BUILD/dataset --sky SKY --out DIR \\
        [--variant base --variant adversarial ...] [--steps 3000]

About 10 minutes per variant on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageFilter
from vae_roundtrip import measure

from galaxysd_core.diffusion.data import load_images_uint8, read_metadata
from galaxysd_core.diffusion.demo import train_vae
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
from galaxysd_core.metrics.morphology import lane_share
from galaxysd_core.progress import Progress

#: name -> (VAE widths, latent channels, train_vae keyword arguments).
VARIANTS: dict[str, tuple[tuple[int, ...], int, dict]] = {
    "base": ((16, 32, 64), 4, {}),
    "bands": ((16, 32, 64), 4, {"bands": 0.3}),
    "bands, KL 1e-9": ((16, 32, 64), 4, {"bands": 0.3, "kl_weight": 1e-9}),
    "bands, 16 channels": ((16, 32, 64), 16, {"bands": 0.3}),
    "adversarial": ((16, 32, 64), 4, {"adversarial": 0.5}),
    "seen": ((16, 32, 64), 4, {}),
    "f=2": ((16, 32), 4, {}),
}


def sky_detgs(sky: str, n: int = 64) -> torch.Tensor:
    """The first ``n`` D-ETGs of a mock sky as uint8 (n, 3, H, W)."""
    truth = pd.read_parquet(f"{sky}/truth.parquet")
    ids = truth["asset_id"].to_numpy()[truth["is_detg"].to_numpy(bool)][:n]
    arrays = [np.asarray(Image.open(f"{sky}/images/{a}.jpg").convert("RGB")) for a in ids]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def reference_losses(sky: str, n: int) -> dict[str, float]:
    """The D-ETG band share after two plain blurs, for scale: a Gaussian of 1 px and
    a bicubic halving and doubling."""
    truth = pd.read_parquet(f"{sky}/truth.parquet")
    ids = truth["asset_id"].to_numpy()[truth["is_detg"].to_numpy(bool)][:n]
    images = [Image.open(f"{sky}/images/{a}.jpg").convert("RGB") for a in ids]
    side = images[0].width
    return {
        "rendered": lane_share(images),
        "1 px Gaussian blur": lane_share([i.filter(ImageFilter.GaussianBlur(1)) for i in images]),
        "halved and doubled": lane_share(
            [
                i.resize((side // 2,) * 2, Image.BICUBIC).resize((side,) * 2, Image.BICUBIC)
                for i in images
            ]
        ),
    }


def train_variant(name: str, images: torch.Tensor, out: Path, steps: int, sky: str) -> float:
    """Train one variant into ``out`` (seeded, so a rerun gives the same weights)."""
    from diffusers import AutoencoderKL

    widths, channels, options = VARIANTS[name]
    if name == "seen":
        images = torch.cat([images, sky_detgs(sky).repeat(40, 1, 1, 1)])
    torch.manual_seed(0)
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * len(widths),
        up_block_types=("UpDecoderBlock2D",) * len(widths),
        block_out_channels=widths,
        layers_per_block=1,
        latent_channels=channels,
        norm_num_groups=8,
        sample_size=images.shape[-1],
        mid_block_add_attention=False,
    )
    t0 = time.perf_counter()
    train_vae(
        vae, images, steps=steps, batch=8, crop=48, lr=1e-3, seed=0, progress=Progress(), **options
    )
    vae.save_pretrained(out)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="prepared training pairs")
    parser.add_argument("--sky", required=True, help="mock sky with truth to judge on")
    parser.add_argument("--out", required=True, help="folder for the trained variants")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--n", type=int, default=64, help="galaxies per judged group")
    args = parser.parse_args()
    classifiers = load_feature_cnn(DEFAULT_FOLDER)
    images = None
    print(f"judges: {DEFAULT_FOLDER}; sky: {args.sky}; {args.steps} steps per variant")
    print(f"\nD-ETG band share (lane_depth, first {args.n} D-ETGs), no VAE:")
    for label, share in reference_losses(args.sky, args.n).items():
        print(f"  {label:<34} {share:.3f}")
    for name in args.variant or list(VARIANTS):
        folder = Path(args.out) / name.replace(" ", "_").replace(",", "").replace("=", "")
        took = "trained before"
        if not (folder / "config.json").is_file():
            if images is None:
                images = load_images_uint8(read_metadata(Path(args.dataset)), 128, "cpu")
            took = f"trained in {train_variant(name, images, folder, args.steps, args.sky):.0f} s"
        r = measure(str(folder), args.sky, classifiers, args.n)
        print(f"\n{name} ({took}; {folder})")
        for group, row in r["groups"].items():
            print(f"  {group:<34} {row['rendered']:.3f} -> {row['after round trip']:.3f}")
        s = r["sky"]
        print(
            f"  sky level {s['rendered']['level']} -> {s['after round trip']['level']}, "
            f"noise {s['rendered']['noise']} -> {s['after round trip']['noise']}"
        )


if __name__ == "__main__":
    main()
