"""A side-by-side sheet: real SDSS cutouts, the mock sky, and each model's images.

Columns are galaxy kinds (spiral, bar, edge-on, round, in-between + dust lane,
D-ETG by the paper's prompt and by the composed one); rows are the real SDSS images of that kind (``../shared/reference/
sdss_gz2``), mock-sky images carrying the kind's tags (a prepared dataset),
then ``--n`` generated images per model (same seeds for every model). Every
tile is shown at ``--tile`` px, so a 64 px and a 128 px model compare at one scale.
``--guidance`` (or ``--eps-scale``, ``--guide-weight``, ``--pag-scale``) given
more than once gives each model one block of rows per guidance scale (and
epsilon scaling, autoguidance weight with ``--guide-model``, perturbed-attention
guidance scale), to see an operating point by eye. ``--reference-pool POOL``
starts every generated image from a noised galaxy of POOL with the prompt's
tags (the paper's img2img, ``--strength``), shown in "start" rows above the
models' (the same starts for every model: they follow the seed).

    python benchmarks/generator_sheet.py --dataset DATASET --model OLD --model NEW --out sheet.png
        [--guidance G ...] [--eps-scale E ...] [--guidance-interval LOW HIGH]
        [--guide-model WEAK --guide-weight W ...] [--pag-scale P ... --pag-interval LOW HIGH]
        [--reference-pool POOL] [--strength S]
"""

from __future__ import annotations

import argparse
import random

import pandas as pd
from generator_goals import add_interval
from PIL import Image, ImageDraw

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.diffusion.data import read_metadata
from galaxysd_core.gz2 import DETG_COMPOSED_PROMPTS, DETG_PROMPTS, table1_prompt
from galaxysd_core.paths import SHARED_REFERENCE

# kind: (prompt, tags of mock-sky examples, SDSS reference category)
KINDS = {
    "spiral (G)": (table1_prompt("G"), ("spiral",), "loosely2spiralarms"),
    "bar (M)": (table1_prompt("M"), ("bar",), "bar"),
    "edge-on (C)": (table1_prompt("C"), ("edge_on",), "edgeon_with_bulge"),
    "round (B)": (table1_prompt("B"), ("completely_round",), "completely_round"),
    "dust lane (K)": (table1_prompt("K"), ("dust_lane",), "dustlane_earlyspiral"),
    "D-ETG": (DETG_PROMPTS[0], (), "dustlane"),
    "D-ETG, composed": (DETG_COMPOSED_PROMPTS[0], (), "dustlane"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--n", type=int, default=2, help="generated rows per model")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--guidance", type=float, action="append", help="CFG scale; repeat for more (default 7)"
    )
    parser.add_argument(
        "--eps-scale", type=float, action="append", help="epsilon scaling; repeat for more"
    )
    add_interval(parser, "--guidance-interval", "guidance")
    parser.add_argument("--guide-model", help="autoguidance: the weaker model (generate's guide)")
    parser.add_argument(
        "--guide-weight", type=float, action="append", help="autoguidance weight; repeat for more"
    )
    parser.add_argument(
        "--pag-scale", type=float, action="append", help="perturbed-attention guidance; repeat"
    )
    add_interval(parser, "--pag-interval", "perturbed-attention guidance")
    parser.add_argument("--reference-pool", help="prepared dataset the img2img starts come from")
    parser.add_argument("--strength", type=float, default=0.6)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    settings = [
        (g, e, w, p)
        for g in args.guidance or [7.0]
        for e in args.eps_scale or [1.0]
        for w in args.guide_weight or [1.0]
        for p in args.pag_scale or [0.0]
    ]
    guide = load_pipeline(args.guide_model) if args.guide_model else None
    sdss = SHARED_REFERENCE / "sdss_gz2"
    labels = pd.read_csv(sdss / "labels.csv")
    records = read_metadata(args.dataset)
    rng = random.Random(0)
    columns: list[list[Image.Image]] = []
    row_names = ["SDSS", "mock sky"]
    start = {}
    if args.reference_pool:
        start = {"reference": "auto", "pool": args.reference_pool, "strength": args.strength}
        row_names += [f"start #{i}" for i in range(args.n)]
    for model in args.model:
        name = model.rstrip("/").split("/")[-1]
        for g, e, w, p in settings:
            at = f" CFG {g:g}" if args.guidance else ""
            at += f" eps {e:g}" if args.eps_scale else ""
            at += f" auto {w:g}" if args.guide_weight else ""
            at += f" pag {p:g}" if args.pag_scale else ""
            if args.guidance_interval:
                at += " t{:g}-{:g}".format(*args.guidance_interval)
            row_names += [f"{name}{at} #{i}" for i in range(args.n)]
    pipes = [load_pipeline(m) for m in args.model]
    for prompt, tags, category in KINDS.values():
        real = labels[labels["category"] == category]["file"].tolist()
        tiles = [Image.open(sdss / real[0]).convert("RGB") if real else Image.new("RGB", (8, 8))]
        mock = [r for r in records if tags and set(tags) <= set(r.tags)]
        tiles.append(
            Image.open(rng.choice(mock).image).convert("RGB") if mock else Image.new("RGB", (8, 8))
        )
        made = [
            generate(
                pipe,
                prompt,
                n=args.n,
                seed=1000,
                steps=args.steps,
                guidance=g,
                eps_scale=e,
                guide=guide,
                guide_weight=w,
                guidance_interval=args.guidance_interval,
                pag_scale=p,
                pag_interval=args.pag_interval,
                **start,
            )
            for pipe in pipes
            for g, e, w, p in settings
        ]
        if start:  # the starts follow the seed: the same for every model
            tiles += [Image.open(m["reference"]).convert("RGB") for m in made[0].metadata]
        tiles += [image for result in made for image in result.images]
        columns.append(tiles)
    t, label_w = args.tile, 150
    sheet = Image.new("RGB", (label_w + t * len(columns), 20 + t * len(row_names)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(KINDS):
        draw.text((label_w + c * t + 4, 4), name, fill="black")
        for r, tile in enumerate(columns[c]):
            sheet.paste(tile.resize((t, t), Image.LANCZOS), (label_w + c * t, 20 + r * t))
    for r, name in enumerate(row_names):
        draw.text((4, 20 + r * t + t // 2), name, fill="black")
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
