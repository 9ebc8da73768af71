"""Does a model draw the unseen class? Feature rates of images from the D-ETG prompts.

The paper's D-ETG prompts (``sdss, {completely round:1.2} galaxy, {dust lane:1.3}``
and ``sdss, in-between round galaxy, {dust lane:1.3}``) ask for a smooth early
type crossed by a dust lane, a combination kept out of diffusion training.
For each model, side by side in one run, ``--n`` images per prompt are
generated with the same seeds and judged by the shipped consistency
classifiers: the share called dust lane, smooth (not "features"), edge-on,
and both smooth and dusty (what a D-ETG needs). Edge-on disks carry most
training dust lanes, so "edge-on" shows a model that answers "dust lane" by
drawing a disk instead. A control prompt without the dust lane
(``sdss, smooth, in-between round galaxy``) gives the classifiers' false-alarm
rate on the same model; a caption that training did carry on disks with a
lane across a dominant bulge (``sdss, features or disk-shaped, dominant bulge
prominence, dust lane``) asks whether the model draws what it was shown at
all. The composed prompts (``DETG_COMPOSED_PROMPTS``: host AND lane as two
guidance terms) ask for the same pair. ``centre R/B`` (mean
red over mean blue in the central quarter of the image, a colour with no
network in it) shows whether a "dust lane" call comes with a reddened body
rather than a lane; ``lane depth`` (the share of images whose darkest band
through the centre is at least ``LANE_DEPTH_CUT`` darker than the light beside
it, :func:`~galaxysd_core.metrics.morphology.lane_depth`, no network either)
asks for the band itself; ``both sides`` (``lane_depth(both_sides=True)``)
asks that band to be dark on both sides of the centre, so that one dark patch
beside the core of a mottled body is not counted. With ``--sky`` the sky's
D-ETGs, dusty edge-on disks and smooth galaxies without dust give the
reference values of both (and, on a sky built with ``--dusty-s0-fraction``,
its bulge-dominated dusty lenticulars). ``--sheet FILE`` saves the first 8
images of every prompt and model, centre enlarged, under the sky's D-ETGs: the
by-eye check beside the figures.

With ``--sky`` (a mock sky with truth), it also measures whether each model's
VAE can carry a dust lane at all: the classifiers' dust-lane rate on the
sky's D-ETGs as rendered and after a VAE encode/decode round trip.

    python benchmarks/dust_lanes.py --model assets/demo-model --model RUN/model [--n 32] [--sky SKY]
        [--guidance 7] [--guidance-rescale 0] [--negative-prompt P] [--sheet FILE]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw
from vae_roundtrip import load_vae, round_trip

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.gz2 import DETG_COMPOSED_PROMPTS, DETG_PROMPTS
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
from galaxysd_core.metrics.features import FEATURES, feature_labels
from galaxysd_core.metrics.morphology import LANE_DEPTH_CUT, lane_share
from galaxysd_core.prompts import split_composed

PROMPTS = {
    "round + dust": DETG_PROMPTS[0],
    "in-between + dust": DETG_PROMPTS[1],
    "round AND dust (composed)": DETG_COMPOSED_PROMPTS[0],
    "in-between AND dust (composed)": DETG_COMPOSED_PROMPTS[1],
    "control (no dust)": "sdss, smooth, in-between round galaxy",
    "trained: disk+bulge+dust": (
        "sdss, features or disk-shaped, dominant bulge prominence, dust lane"
    ),
}
SHEET_COLUMNS = 8
SHEET_CELL = 128
NAMES = [f.name for f in FEATURES]


def centre_colour(images: list[Image.Image]) -> float:
    """Mean red over mean blue in the central quarter (half the side) of the images."""
    ratios = []
    for image in images:
        a = np.asarray(image.convert("RGB"), dtype=np.float64)
        h, w = a.shape[:2]
        core = a[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
        ratios.append(core[..., 0].mean() / max(core[..., 2].mean(), 1e-6))
    return float(np.mean(ratios))


def rates(
    model: str,
    n: int,
    steps: int,
    classifiers,
    guidance: float = 7.0,
    guidance_rescale: float = 0.0,
    negative_prompt: str = "",
    shown: dict[str, list[Image.Image]] | None = None,
) -> dict[str, dict[str, float]]:
    """Per prompt, the share of ``n`` images each judged feature is seen in.

    The first images of each prompt go into ``shown`` (keyed by prompt label).
    """
    pipe = load_pipeline(model)
    out = {}
    for label, prompt in PROMPTS.items():
        if guidance_rescale and len(split_composed(prompt)) > 1:
            continue  # composable guidance has no rescale (generate() refuses the pair)
        images = generate(
            pipe,
            prompt,
            n=n,
            seed=1000,
            steps=steps,
            guidance=guidance,
            guidance_rescale=guidance_rescale,
            negative_prompt=negative_prompt,
            batch_size=16,
        ).images
        if shown is not None:
            shown[label] = images[:SHEET_COLUMNS]
        pred = classifiers.predict(images)
        dust = pred[:, NAMES.index("dust_lane")]
        smooth = ~pred[:, NAMES.index("features")]
        out[label] = {
            "centre R/B": centre_colour(images),
            "lane depth": lane_share(images),
            "both sides": lane_share(images, both_sides=True),
            "dust lane": float(dust.mean()),
            "smooth": float(smooth.mean()),
            "edge-on": float(pred[:, NAMES.index("edge_on")].mean()),
            "smooth and dust lane": float((dust & smooth).mean()),
        }
    return out


def vae_rates(model: str, sky: str, classifiers, n: int = 64) -> dict[str, tuple[float, ...]]:
    """Per group of up to ``n`` sky galaxies: dust-lane rate rendered and after the VAE,
    centre R/B (rendered), and the lane-depth share rendered and after the VAE, along
    the whole line and on both sides of the centre."""
    truth = pd.read_parquet(f"{sky}/truth.parquet")
    labels, _ = feature_labels(truth)
    groups = {
        "D-ETGs": truth["is_detg"].to_numpy(bool),
        "edge-on dusty disks": (labels["dust_lane"] & labels["edge_on"]).to_numpy(),
        "smooth, no dust": (~labels["features"] & ~labels["dust_lane"]).to_numpy(),
    }
    if "dusty_s0" in truth and truth["dusty_s0"].any():
        groups["dusty S0 hosts"] = truth["dusty_s0"].to_numpy(bool)
    vae = load_vae(model)
    column = NAMES.index("dust_lane")
    out = {}
    for label, mask in groups.items():
        ids = truth["asset_id"].to_numpy()[mask][:n]
        images = [Image.open(f"{sky}/images/{a}.jpg").convert("RGB") for a in ids]
        decoded = round_trip(vae, images)
        before = classifiers.predict(images)[:, column].mean()
        after = classifiers.predict(decoded)[:, column].mean()
        out[f"{label} (n={len(ids)})"] = (
            float(before),
            float(after),
            centre_colour(images),
            lane_share(images),
            lane_share(decoded),
            lane_share(images, both_sides=True),
            lane_share(decoded, both_sides=True),
        )
    return out


def sky_detgs(sky: str, n: int = SHEET_COLUMNS) -> list[Image.Image]:
    """The first ``n`` D-ETGs of a mock sky, as rendered."""
    truth = pd.read_parquet(f"{sky}/truth.parquet")
    ids = truth.loc[truth["is_detg"].to_numpy(bool), "asset_id"].to_numpy()[:n]
    return [Image.open(f"{sky}/images/{a}.jpg").convert("RGB") for a in ids]


def save_sheet(rows: list[tuple[str, list[Image.Image]]], path: str) -> None:
    """One labelled row per (name, images): the central half of each, enlarged."""
    label_width = 260
    sheet = Image.new("RGB", (label_width + SHEET_COLUMNS * SHEET_CELL, SHEET_CELL * len(rows)))
    draw = ImageDraw.Draw(sheet)
    for r, (name, images) in enumerate(rows):
        draw.text((4, r * SHEET_CELL + SHEET_CELL // 2 - 12), name, fill=(255, 255, 255))
        for c, image in enumerate(images[:SHEET_COLUMNS]):
            w, h = image.size
            centre = image.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4))
            cell = centre.resize((SHEET_CELL, SHEET_CELL), Image.Resampling.LANCZOS)
            sheet.paste(cell, (label_width + c * SHEET_CELL, r * SHEET_CELL))
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="diffusers folder")
    parser.add_argument("--n", type=int, default=32, help="images per prompt")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=7.0, help="classifier-free guidance")
    parser.add_argument(
        "--guidance-rescale", type=float, default=0.0, help="Lin et al. rescale (0 = off)"
    )
    parser.add_argument("--negative-prompt", default="", help="for every prompt")
    parser.add_argument("--sky", help="mock sky with truth: also measure the VAE round trip")
    parser.add_argument("--sheet", help="PNG: the first images of every prompt, by model")
    args = parser.parse_args()
    sheet_rows: list[tuple[str, list[Image.Image]]] = []
    if args.sheet and args.sky:
        sheet_rows.append(("mock sky: D-ETGs (held out)", sky_detgs(args.sky)))
    classifiers = load_feature_cnn(DEFAULT_FOLDER)
    print(
        f"{args.n} images per prompt, {args.steps} Euler-a steps, CFG {args.guidance:g}"
        f" (rescale {args.guidance_rescale:g}), negative prompt {args.negative_prompt!r},"
        " seeds 1000+"
    )
    for number, model in enumerate(args.model, start=1):
        t0 = time.perf_counter()
        shown: dict[str, list[Image.Image]] = {}
        table = rates(
            model,
            args.n,
            args.steps,
            classifiers,
            args.guidance,
            args.guidance_rescale,
            args.negative_prompt,
            shown,
        )
        sheet_rows += [(f"model {number}: {label}", images) for label, images in shown.items()]
        print(f"\n{model}  ({time.perf_counter() - t0:.0f} s)")
        print(f"  {'prompt':<32}" + "".join(f"{k:>22}" for k in next(iter(table.values()))))
        for label, row in table.items():
            print(f"  {label:<32}" + "".join(f"{np.round(v, 3):>22}" for v in row.values()))
        if args.sky:
            print(
                "  sky galaxies: dust-lane rate rendered -> after the VAE round trip;"
                f" centre R/B; lane depth > {LANE_DEPTH_CUT} rendered -> after the round trip;"
                " the same on both sides of the centre"
            )
            for label, row in vae_rates(model, args.sky, classifiers).items():
                before, after, colour, lanes, lanes_after, both, both_after = row
                print(
                    f"    {label:<30} {before:.2f} -> {after:.2f}; {colour:.2f};"
                    f" {lanes:.2f} -> {lanes_after:.2f}; {both:.2f} -> {both_after:.2f}"
                )
    if args.sheet:
        save_sheet(sheet_rows, args.sheet)
        print(f"\nsheet: {args.sheet} (model k = the k-th --model)")


if __name__ == "__main__":
    main()
