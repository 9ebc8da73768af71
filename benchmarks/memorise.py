"""Can the UNet draw spiral arms at all? Train it on a few dozen spirals and ask for them back.

A diagnosis of the clumps (docs/generator-v2.md, "Where the clumps form"). On the whole
sky the demo model draws armless, clumpy spirals, though its VAE keeps the
arms and an exact denoiser samples them back (``benchmarks/oracle_sampler.py``).
Either the UNet cannot represent arms, or it has not learnt them from the
sky's variety in the steps a CPU affords. This trains on the galaxies of
one caption only (``--caption``; the default has 46 spirals with two medium
wound arms on the demo model's sky), ``--steps`` steps with the demo guide's
recipe (the model's VAE and frozen text encoder, no rotations), starting
from a fresh UNet of the model's shape (``--init fresh``) or from the model
itself (``--init model``). Then it samples ``--n`` images of that caption
and prints how far each lies from its nearest training galaxy (RMS, 0-255,
through the VAE), beside the spacing of the training galaxies themselves:
near zero is memorised, near the spacing is a new galaxy. The sheet shows
the training galaxies, then the samples above their nearest training galaxy.

    python benchmarks/memorise.py --model assets/demo-model --dataset DATASET --out DIR
        [--init fresh|model] [--steps 4000] [--n 8]

DATASET is the model's prepared training set (``benchmarks/unet_from_scratch.py
--prepare`` makes the demo model's).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DConditionModel
from PIL import Image

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.diffusion.config import GuideBuildConfig
from galaxysd_core.diffusion.data import load_image, read_metadata
from galaxysd_core.diffusion.demo import _unet_stage
from galaxysd_core.diffusion.finetune import finetune
from galaxysd_core.diffusion.pipelines import save_pipeline
from galaxysd_core.progress import progress_for_cli

CAPTION = (
    "sdss, features or disk-shaped, spiral galaxy, obvious bulge prominence, "
    "medium wound spiral arms, 2 spiral arms"
)


def subset(dataset: Path, caption: str, out: Path) -> list[Path]:
    """Copy the pairs of ``dataset`` whose caption is ``caption`` into ``out``; return the images."""
    lines = [
        line
        for line in (dataset / "metadata.jsonl").read_text().splitlines()
        if json.loads(line)["text"] == caption
    ]
    if not lines:
        raise SystemExit(f"no pair of {dataset} has the caption {caption!r}")
    out.mkdir(parents=True, exist_ok=True)
    for line in lines:
        shutil.copy(dataset / json.loads(line)["file_name"], out)
    (out / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return [r.image for r in read_metadata(out)]


def round_trips(pipe, files: list[Path]) -> np.ndarray:
    """The training images through the model's VAE, as 0-255 arrays (what a perfect UNet returns)."""
    side = pipe.unet.config.sample_size * pipe.vae_scale_factor
    images = torch.stack([load_image(f, size=side) for f in files])
    with torch.inference_mode():
        latents = pipe.vae.encode(images).latent_dist.mean
        decoded = pipe.vae.decode(latents).sample
    return ((decoded.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="diffusers folder")
    parser.add_argument("--dataset", required=True, help="the model's prepared training set")
    parser.add_argument("--out", required=True, help="experiment folder")
    parser.add_argument("--caption", default=CAPTION)
    parser.add_argument("--init", choices=("fresh", "model"), default="fresh")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--n", type=int, default=8, help="images sampled")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    t0 = time.monotonic()
    files = subset(Path(args.dataset), args.caption, out / "dataset")
    init = out / "init-model"
    if not (init / "model_index.json").is_file():
        pipe = load_pipeline(args.model)
        if args.init == "fresh":
            torch.manual_seed(args.seed)
            pipe.unet = UNet2DConditionModel.from_config(pipe.unet.config)
        save_pipeline(pipe, init)
    # No tag weights: one caption, so every pair is drawn alike.
    recipe = GuideBuildConfig(steps=args.steps, seed=args.seed, tag_weights={})
    config = _unet_stage(
        init,
        out / "dataset",
        out / "finetune",
        recipe,
        warmup_steps=min(200, args.steps // 10),
        train_text_encoder=False,
        checkpoint_every=min(500, args.steps),
        log_every=50,
    )
    result = finetune(config, progress=progress_for_cli(f"{args.init}, {len(files)} galaxies"))
    pipe = load_pipeline(result.model_dir)

    trips = round_trips(pipe, files)
    flat = trips.reshape(len(trips), -1)
    spacing = np.sqrt(((flat[:, None] - flat[None]) ** 2).mean(-1))
    np.fill_diagonal(spacing, np.inf)
    made = generate(pipe, args.caption, n=args.n, seed=1000, steps=20, guidance=7.0).images
    got = np.stack([np.asarray(im.convert("RGB"), dtype=np.float64) for im in made])
    dist = np.sqrt(((got.reshape(len(got), -1)[:, None] - flat[None]) ** 2).mean(-1))
    nearest, rms = dist.argmin(1), dist.min(1)
    print(
        f"{args.init} UNet, {len(files)} galaxies, {result.step} steps, loss {result.loss:.4f}, "
        f"{time.monotonic() - t0:.0f} s\n"
        f"RMS of a sample to its nearest training round trip: median {np.median(rms):.1f} "
        f"(range {rms.min():.1f}-{rms.max():.1f}); {len(set(nearest))} distinct nearest\n"
        f"RMS between a training round trip and its nearest other: median "
        f"{np.median(spacing.min(1)):.1f}"
    )
    tile = trips.shape[1]
    shown = files[: args.n]
    sheet = Image.new("RGB", (tile * args.n, tile * 3))
    for c in range(args.n):
        if c < len(shown):
            sheet.paste(Image.open(shown[c]).convert("RGB").resize((tile, tile)), (c * tile, 0))
        sheet.paste(made[c].convert("RGB"), (c * tile, tile))
        sheet.paste(Image.fromarray(trips[nearest[c]].astype(np.uint8)), (c * tile, 2 * tile))
    sheet.save(out / "sheet.png")
    print(f"sheet: {out / 'sheet.png'} (training galaxies; samples; their nearest round trips)")


if __name__ == "__main__":
    main()
