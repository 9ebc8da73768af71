"""Draw the README's side-by-side sheet: real GZ2 images vs mock-sky images of the same type.

Usage::

    .venv/bin/python benchmarks/sky_sheet.py [--out docs/img/mock_vs_real.png] [--size 424]

For each morphology folder of ``../shared/reference/sdss_gz2`` it shows the
first real image and a mock galaxy whose true tags match, picked among the
brighter galaxies of a mock population (the real examples are bright, well
resolved galaxies). Rows alternate real / mock.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from galaxysd_core.gz2.tree import ANSWER_BY_TAG
from galaxysd_core.paths import REPO_ROOT, SHARED_REFERENCE
from galaxysd_core.sky.population import sample_population
from galaxysd_core.sky.render import render_galaxy

TILE = 200
COLUMNS = 7


def _tag(pop: pd.DataFrame, tag: str) -> pd.Series:
    return pop[ANSWER_BY_TAG[tag].prefix]


def selectors(pop: pd.DataFrame) -> dict[str, pd.Series]:
    """Mock galaxies that match each reference folder."""
    calm = _tag(pop, "not_odd")
    return {
        "bar": _tag(pop, "bar") & _tag(pop, "spiral") & _tag(pop, "2_arms") & calm,
        "cigar": _tag(pop, "cigar_shaped"),
        "completely_round": _tag(pop, "completely_round") & calm,
        "dustlane": pop["is_detg"],
        "dustlane_earlyspiral": _tag(pop, "not_edge_on") & _tag(pop, "dust_lane"),
        "dustlane_edgeon": _tag(pop, "edge_on") & _tag(pop, "dust_lane"),
        "edgeon_with_bulge": _tag(pop, "edge_on") & _tag(pop, "rounded_bulge") & calm,
        "in-between": _tag(pop, "in_between") & calm,
        "loosely2spiralarms": _tag(pop, "loose_arms") & _tag(pop, "2_arms"),
        "merger": _tag(pop, "smooth") & _tag(pop, "merger"),
        "merger_spiral": _tag(pop, "spiral") & _tag(pop, "merger"),
        "ring": _tag(pop, "ring"),
        "spiral_4arms": _tag(pop, "4_arms"),
        "spiral_4arms_v2": _tag(pop, "4_arms"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img" / "mock_vs_real.png")
    parser.add_argument("--size", type=int, default=424, help="mock render size (px)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=30000, help="population to pick from")
    args = parser.parse_args()

    labels = pd.read_csv(SHARED_REFERENCE / "sdss_gz2" / "labels.csv")
    folders = list(dict.fromkeys(labels["category"]))
    pop = sample_population(args.n, seed=args.seed)
    pop["asset_id"] = np.arange(1, len(pop) + 1)
    chosen = selectors(pop)
    rows = (len(folders) + COLUMNS - 1) // COLUMNS * 2
    label_h = 18
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    used: set[int] = set()
    for k, folder in enumerate(folders):
        real_file = labels.loc[labels["category"] == folder, "file"].iloc[0]
        real = Image.open(SHARED_REFERENCE / "sdss_gz2" / real_file).convert("RGB")
        # Bright, well-resolved candidates like the curated real examples.
        cand = pop[chosen[folder] & (pop["r_mag"] < 16.8) & (pop["r90_arcsec"] > 8)]
        cand = cand if len(cand) else pop[chosen[folder]]
        idx = next(i for i in cand.index if i not in used)
        used.add(idx)
        rgb = render_galaxy(pop.loc[idx].to_dict(), size=args.size, seed=args.seed, index=idx)
        mock = Image.fromarray(rgb)
        col, block = k % COLUMNS, k // COLUMNS
        for r, (img, who) in enumerate(((real, "real"), (mock, "mock"))):
            x, y = col * TILE, (2 * block + r) * (TILE + label_h)
            draw.text((x + 4, y + 3), f"{who}: {folder}", fill="black")
            sheet.paste(img.resize((TILE, TILE), Image.LANCZOS), (x, y + label_h))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
