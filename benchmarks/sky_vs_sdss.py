"""Compare the mock sky with the real SDSS reference cutouts, pixel statistic by statistic.

Usage::

    .venv/bin/python benchmarks/sky_vs_sdss.py [--per-category 40] [--size 64] [--compare 64]
        [--sheet PATH]

Every image is looked at as a ``--compare`` px (64 by default) 8-bit RGB
cutout: the real 424 px GZ2 JPEGs of ``../shared/reference/sdss_gz2`` are
downsampled (area average), the mock galaxies are rendered at ``--size`` (64
by default), JPEG-encoded as the sky writes them, and downsampled too if
``--size`` is larger. Per image it measures

- the sky level (median of the four corners of 1/8 of the side, mean of R, G, B) and the sky
  colour (corner medians of R, G and B separately),
- the noise (robust standard deviation of the corner pixels around their
  median, mean over the channels),
- r50 (radius around the centre holding half the sky-subtracted light within
  0.45 of the image side, in px) and the brightness (mean sky-subtracted
  value within r50, 0-255 units),
- the colour proxy G-R = -2.5 log10(sum G / sum R) of the sky-subtracted
  light within 2 r50 (larger is redder), and B-G likewise (``colour_gb``).

It prints the per-category medians of real and mock side by side, the overall
medians, and the cross-validated accuracy of two-sample classifiers (logistic
regression and gradient boosting) that tell real from mock on these
statistics: 0.5 means the statistics cannot tell them apart. ``--sheet``
also draws a sheet of real and mock examples per category at the compared
size (the README's ``docs/img/mock_vs_real.png``).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from galaxysd_core.gz2.tree import ANSWER_BY_TAG
from galaxysd_core.paths import SHARED_REFERENCE
from galaxysd_core.sky.population import sample_population
from galaxysd_core.sky.render import encode_jpeg, render_galaxy

SIZE = 64
STATS = ("sky", "sky_r", "sky_g", "sky_b", "noise", "colour", "colour_gb", "r50", "bright")


def _tag(pop: pd.DataFrame, tag: str) -> pd.Series:
    return pop[ANSWER_BY_TAG[tag].prefix]


def selectors(pop: pd.DataFrame) -> dict[str, pd.Series]:
    """Mock galaxies whose true tags match each reference folder."""
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


def resample(img: Image.Image, size: int) -> np.ndarray:
    """An RGB image as a ``size`` px float array (area-averaged when shrinking)."""
    img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BOX)
    return np.asarray(img, dtype=np.float64)


def statistics(rgb: np.ndarray) -> dict[str, float]:
    """The pixel statistics of one square RGB image (see the module docstring)."""
    size = rgb.shape[0]
    k = size // 8
    corners = np.concatenate(
        [rgb[:k, :k], rgb[:k, -k:], rgb[-k:, :k], rgb[-k:, -k:]], axis=0
    ).reshape(-1, 3)
    sky = np.median(corners, axis=0)
    mad = np.median(np.abs(corners - sky), axis=0) * 1.4826
    light = np.clip(rgb - sky, 0, None)
    lum = light.mean(axis=2)
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(yy - c, xx - c)
    inside = r <= 0.45 * size
    order = np.argsort(r[inside])
    cum = np.cumsum(lum[inside][order])
    half = np.searchsorted(cum, 0.5 * cum[-1]) if cum[-1] > 0 else 0
    r50 = float(max(r[inside][order][min(half, len(order) - 1)], 1.0))
    ap = r <= 2 * r50
    g_sum, r_sum = light[..., 1][ap].sum(), light[..., 0][ap].sum()
    b_sum = light[..., 2][ap].sum()
    colour = -2.5 * np.log10(max(g_sum, 1e-3) / max(r_sum, 1e-3))
    colour_gb = -2.5 * np.log10(max(b_sum, 1e-3) / max(g_sum, 1e-3))
    return {
        "sky": float(sky.mean()),
        "sky_r": float(sky[0]),
        "sky_g": float(sky[1]),
        "sky_b": float(sky[2]),
        "noise": float(mad.mean()),
        "colour": float(colour),
        "colour_gb": float(colour_gb),
        "r50": r50,
        "bright": float(lum[r <= r50].mean()),
    }


def real_statistics(compare: int = SIZE) -> pd.DataFrame:
    """Statistics of the real reference images, one row per (image, category)."""
    folder = SHARED_REFERENCE / "sdss_gz2"
    labels = pd.read_csv(folder / "labels.csv")
    rows = []
    for rec in labels.itertuples():
        s = statistics(resample(Image.open(folder / rec.file), compare))
        rows.append({"category": rec.category, "who": "real", **s})
    return pd.DataFrame(rows)


def mock_statistics(
    per_category: int, *, size: int, seed: int, n: int, compare: int = SIZE
) -> tuple[pd.DataFrame, dict[str, list[np.ndarray]]]:
    """Statistics of ``per_category`` mock galaxies matching each category."""
    labels = pd.read_csv(SHARED_REFERENCE / "sdss_gz2" / "labels.csv")
    pop = sample_population(n, seed=seed)
    chosen = selectors(pop)
    rows, images = [], {}
    for cat in dict.fromkeys(labels["category"]):
        idx = pop.index[chosen[cat]][:per_category]
        images[cat] = []
        for i in idx:
            rgb = render_galaxy(pop.loc[i].to_dict(), size=size, seed=seed, index=int(i))
            img = Image.open(io.BytesIO(encode_jpeg(rgb, quality=90)))
            arr = resample(img, compare)
            images[cat].append(np.asarray(img))
            rows.append({"category": cat, "who": "mock", **statistics(arr)})
    return pd.DataFrame(rows), images


def two_sample_accuracy(real: pd.DataFrame, mock: pd.DataFrame, *, repeats: int = 20) -> dict:
    """Cross-validated real-vs-mock accuracy on the statistics, balanced by category.

    Each repeat pairs every real image with one random mock galaxy of the same
    category (so both classes have the same size and category mix) and runs a
    4-fold stratified cross-validation.
    """
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    feats = ["sky", "sky_r", "sky_b", "noise", "colour", "colour_gb", "r50", "bright"]
    models = {
        "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0)),
        "boosting": lambda: GradientBoostingClassifier(n_estimators=50, max_depth=2),
    }
    scores: dict[str, list[float]] = {k: [] for k in models}
    rng = np.random.default_rng(0)
    for rep in range(repeats):
        picks = [
            mock[mock["category"] == cat].sample(1, random_state=int(rng.integers(1 << 31)))
            for cat in real["category"]
        ]
        data = pd.concat([real, *picks], ignore_index=True)
        x = data[feats].to_numpy()
        y = (data["who"] == "real").to_numpy().astype(int)
        cv = StratifiedKFold(4, shuffle=True, random_state=rep)
        for name, make in models.items():
            scores[name].append(float(cross_val_score(make(), x, y, cv=cv).mean()))
    return {k: (float(np.mean(v)), float(np.std(v))) for k, v in scores.items()}


def draw_sheet(
    out: Path, images: dict[str, list[np.ndarray]], *, compare: int = SIZE, tile: int = 96
) -> None:
    """Per category: the two real reference images, then four mock ones, all at ``compare`` px."""
    folder = SHARED_REFERENCE / "sdss_gz2"
    labels = pd.read_csv(folder / "labels.csv")
    cats = list(dict.fromkeys(labels["category"]))
    n_real, n_mock, gap, cols, label_h = 2, 4, 8, 2, 16
    block_w = (n_real + n_mock) * tile + gap
    rows = (len(cats) + cols - 1) // cols
    sheet = Image.new(
        "RGB", (cols * block_w + (cols - 1) * 2 * gap, rows * (tile + label_h)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for k, cat in enumerate(cats):
        real = [Image.open(folder / f) for f in labels.loc[labels["category"] == cat, "file"]]
        mock = [Image.fromarray(a) for a in images[cat]]
        x0 = (k % cols) * (block_w + 2 * gap)
        y = (k // cols) * (tile + label_h)
        draw.text((x0 + 2, y + 2), f"{cat}: real (left 2) | mock (right 4)", fill="black")
        tiles = [(img, j * tile) for j, img in enumerate(real[:n_real])]
        tiles += [(img, (n_real + j) * tile + gap) for j, img in enumerate(mock[:n_mock])]
        for img, dx in tiles:
            # Both at the compared size first: the sheet shows what the networks see.
            small = img.convert("RGB").resize((compare, compare), Image.BOX)
            sheet.paste(small.resize((tile, tile), Image.NEAREST), (x0 + dx, y + label_h))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=40)
    parser.add_argument("--size", type=int, default=SIZE, help="mock render size (px)")
    parser.add_argument("--compare", type=int, default=SIZE, help="size compared at (px)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=40000, help="population to pick from")
    parser.add_argument("--sheet", type=Path, default=None, help="also draw this sheet (PNG)")
    args = parser.parse_args()

    if args.compare > args.size:
        parser.error("--compare must not exceed --size")
    real = real_statistics(args.compare)
    mock, images = mock_statistics(
        args.per_category, size=args.size, seed=args.seed, n=args.n, compare=args.compare
    )
    both = pd.concat([real, mock])
    med = both.groupby(["category", "who"])[list(STATS)].median().unstack("who")
    pd.set_option("display.width", 200, "display.max_columns", 30)
    print(f"per-category medians at {args.compare} px (mock rendered at {args.size} px)")
    table = pd.DataFrame(
        {
            f"{s}_{w}": med[(s, w)]
            for s in ("sky", "noise", "colour", "r50", "bright")
            for w in ("real", "mock")
        }
    )
    print(table.round(2).to_string())
    print("\noverall medians")
    print(both.groupby("who")[list(STATS)].median().round(3).to_string())
    print(
        "\ntwo-sample accuracy real vs mock (mean, sd over 20 repeats of 4-fold CV; 0.5 = indistinguishable)"
    )
    for name, (m, s) in two_sample_accuracy(real, mock).items():
        print(f"  {name}: {m:.3f} +- {s:.3f}")
    if args.sheet:
        draw_sheet(args.sheet, images, compare=args.compare)
        print(args.sheet)


if __name__ == "__main__":
    main()
