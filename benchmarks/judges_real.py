"""Do the judges hold on real SDSS images? Feature classifiers and encoder, real beside mock.

Real: the 28 GZ2 cutouts of ``../shared/reference/sdss_gz2`` (424 px, 14
categories, 2 each; ``labels.csv`` gives each image's paper prompt, whose
expected answers come from :func:`~galaxysd_core.metrics.features.prompt_answers`).
They are a test set: nothing in the project trains on them. Mock: a held-out
mock sky with truth (use a seed the judges were not trained on).

For the feature classifiers, per head:

- hit rate: share of images of its category (the prompt implies the answer)
  it fires on;
- false-alarm rate: share of the other images it fires on (on the mock sky:
  galaxies whose true answer is no, including those where its question is
  not asked, e.g. "bar?" on an elliptical);

with 95 % Wilson intervals. Two real images per category make these small
samples: a head's real hit rate rests on 2-6 images, so read the intervals,
not the point values. Then the consistency (Eq. 5) of the real images of each
category with their prompt, against the mock galaxies carrying the same tags,
and the mean over all real images with a bootstrap interval.

For the encoder: how often a real image's nearest real neighbour (cosine, in
the encoder's space, the image itself and its duplicate asset left out) is of
the same category, against the same architecture at random init and against
the same count on mock galaxies (2 per category, repeated draws).

    python benchmarks/judges_real.py --sky SKY [--classifiers DIR] [--encoder DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from galaxysd_core.embedding.model import Encoder, embed, load_encoder
from galaxysd_core.gz2.folders import real_table
from galaxysd_core.gz2.prompts import DETG_PROMPTS, DETG_TAGS, TABLE1_PROMPTS, TABLE1_TEXT
from galaxysd_core.metrics.consistency import consistency_per_image
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
from galaxysd_core.metrics.features import FEATURES, feature_labels, prompt_answers
from galaxysd_core.paths import ASSETS, REPO_ROOT, SHARED_REFERENCE

NAMES = [f.name for f in FEATURES]
REFERENCE = SHARED_REFERENCE / "sdss_gz2"


def prompt_tags(text: str) -> tuple[str, ...]:
    """Tags of a paper prompt as written in ``labels.csv`` (Table 1 or a D-ETG prompt)."""
    by_text = {v: TABLE1_PROMPTS[k] for k, v in TABLE1_TEXT.items()}
    by_text.update(
        {p.removeprefix("sdss, "): t for p, (t, _) in zip(DETG_PROMPTS, DETG_TAGS, strict=True)}
    )
    return by_text[text]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n (NaNs when n == 0)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(fired: np.ndarray) -> dict[str, float | int]:
    """k, n, share and Wilson interval of a boolean vector."""
    k, n = int(fired.sum()), int(fired.size)
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else float("nan"), "lo": lo, "hi": hi}


def bootstrap_mean(values: np.ndarray, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of a mean."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), (n_boot, len(values)))
    means = values[idx].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def load_reference() -> tuple[pd.DataFrame, list[Image.Image]]:
    """The real reference table (with tags) and its images, in ``labels.csv`` order."""
    labels = pd.read_csv(REFERENCE / "labels.csv")
    labels["tags"] = labels["paper_prompt"].map(prompt_tags)
    images = [Image.open(REFERENCE / f).convert("RGB") for f in labels["file"]]
    return labels, images


def expected(tags_per_image: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Stacked prompt answers and applicability, one row per image."""
    pairs = [prompt_answers(t) for t in tags_per_image]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def head_rates(pred: np.ndarray, positive: np.ndarray) -> dict[str, dict[str, dict]]:
    """Per head: hit rate on positives, false-alarm rate on the rest."""
    return {
        name: {"hit": rate(pred[positive[:, i], i]), "false_alarm": rate(pred[~positive[:, i], i])}
        for i, name in enumerate(NAMES)
    }


def judge_classifiers(folder: Path, sky: Path, labels: pd.DataFrame, images: list) -> dict:
    """Real and mock figures of one classifier folder."""
    cnn = load_feature_cnn(folder)
    truth, applicable = expected(list(labels["tags"]))
    pred = cnn.predict(images)
    per_image = consistency_per_image(pred, truth, applicable=applicable)
    real = {"heads": head_rates(pred, truth), "per_image": per_image.round(3).tolist()}
    real["consistency"] = float(per_image.mean())
    real["consistency_ci"] = bootstrap_mean(per_image)

    table = real_table(sky)
    mock_truth = pd.read_parquet(sky / "truth.parquet")
    mock_labels, _ = feature_labels(mock_truth)
    mock_pred = cnn.predict(table["path"].tolist())
    mock = {"heads": head_rates(mock_pred, mock_labels.to_numpy())}
    categories = {}
    mock_scores = []
    for cat, rows in labels.groupby("category", sort=False):
        tags = rows["tags"].iloc[0]
        want = set(tags)
        sel = np.flatnonzero([want <= set(t) for t in table["tags"]])
        t, a = prompt_answers(tags)
        real_c = per_image[rows.index.to_numpy()]
        mock_c = (
            consistency_per_image(mock_pred[sel], t, applicable=a) if len(sel) else np.array([])
        )
        mock_scores.append(mock_c)
        categories[cat] = {
            "real": real_c.round(3).tolist(),
            "real_mean": float(real_c.mean()),
            "mock_mean": float(mock_c.mean()) if len(mock_c) else float("nan"),
            "mock_n": len(sel),
        }
    mock["consistency_per_category_mean"] = float(
        np.nanmean([c["mock_mean"] for c in categories.values()])
    )
    every = np.concatenate(mock_scores)
    mock["consistency_all"] = float(every.mean())
    return {"folder": str(folder), "real": real, "mock": mock, "categories": categories}


def nn_agreement(x: np.ndarray, cats: np.ndarray, ids: np.ndarray) -> tuple[int, int]:
    """How many rows' nearest other row (cosine; same id excluded) shares their category."""
    u = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
    sim = u @ u.T
    sim[ids[:, None] == ids[None, :]] = -np.inf
    nearest = sim.argmax(axis=1)
    return int((cats[nearest] == cats).sum()), len(cats)


def judge_encoder(folder: Path, sky: Path, labels: pd.DataFrame, images: list) -> dict:
    """Nearest-real-neighbour category agreement, trained vs random init, real vs mock."""
    trained = load_encoder(folder)
    torch.manual_seed(0)
    random_init = Encoder(trained.spec).eval()
    cats = labels["category"].to_numpy()
    ids = labels["asset_id"].to_numpy()
    out = {"folder": str(folder)}
    table = real_table(sky)
    rng = np.random.default_rng(0)
    pools = {}
    for cat, rows in labels.groupby("category", sort=False):
        want = set(rows["tags"].iloc[0])
        pools[cat] = np.flatnonzero([want <= set(t) for t in table["tags"]])
    used = np.unique(np.concatenate([p[: min(len(p), 40)] for p in pools.values()]))
    for name, enc in (("trained", trained), ("random_init", random_init)):
        k, n = nn_agreement(embed(images, encoder=enc), cats, ids)
        emb = dict(zip(used, embed(table["path"].iloc[used].tolist(), encoder=enc), strict=True))
        hits = total = 0
        for _ in range(200):  # 2 mock galaxies per category, like the real set
            rows, row_cats = [], []
            for cat, pool in pools.items():
                pool = pool[np.isin(pool, used)]
                if len(pool) >= 2:
                    rows += list(rng.choice(pool, 2, replace=False))
                    row_cats += [cat, cat]
            h, t = nn_agreement(
                np.stack([emb[r] for r in rows]), np.array(row_cats), np.array(rows)
            )
            hits, total = hits + h, total + t
        out[name] = {"real": rate(np.arange(n) < k), "mock_rate": hits / total}
    return out


def _short(path: str) -> str:
    """A path relative to the checkout where it lies inside it."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO_ROOT)) if p.is_relative_to(REPO_ROOT) else str(path)


def format_report(result: dict) -> str:
    """The text tables of one run."""
    lines = []
    for c in result.get("classifiers", []):
        lines.append(f"feature classifiers: {_short(c['folder'])}")
        lines.append(
            f"  consistency of the {len(c['real']['per_image'])} real images with their prompt: "
            f"{c['real']['consistency']:.3f} [{c['real']['consistency_ci'][0]:.2f}-"
            f"{c['real']['consistency_ci'][1]:.2f}] (bootstrap over images); mock galaxies of "
            f"the same prompts {c['mock']['consistency_all']:.3f} (mean of category means "
            f"{c['mock']['consistency_per_category_mean']:.3f})"
        )
        lines.append(
            f"  {'head':27s} {'real hit':>18s} {'real false alarm':>20s} "
            f"{'mock hit':>18s} {'mock false alarm':>20s}"
        )
        for name in NAMES:
            cells = []
            for side in ("real", "mock"):
                for what in ("hit", "false_alarm"):
                    r = c[side]["heads"][name][what]
                    if r["n"] == 0:
                        cells.append(f"{'-':>18s}")
                    elif side == "real":
                        cells.append(f"{r['k']:>3d}/{r['n']:<3d}[{r['lo']:.2f}-{r['hi']:.2f}]")
                    else:
                        cells.append(f"{r['rate']:>5.2f} [{r['lo']:.2f}-{r['hi']:.2f}]")
            lines.append(f"  {name:27s} " + " ".join(f"{x:>19s}" for x in cells))
        lines.append(
            f"  {'category':22s} {'real (2 images)':>16s} {'real mean':>9s} {'mock mean':>9s} (n)"
        )
        for cat, v in c["categories"].items():
            real = " ".join(f"{x:.2f}" for x in v["real"])
            lines.append(
                f"  {cat:22s} {real:>16s} {v['real_mean']:>9.3f} {v['mock_mean']:>9.3f} "
                f"({v['mock_n']})"
            )
    for e in result.get("encoders", []):
        lines.append(f"encoder: {_short(e['folder'])}")
        for name in ("trained", "random_init"):
            r = e[name]["real"]
            lines.append(
                f"  {name:12s} nearest real neighbour of the same category: {r['k']}/{r['n']} "
                f"[{r['lo']:.2f}-{r['hi']:.2f}]; mock (2 per category, 200 draws): "
                f"{e[name]['mock_rate']:.2f}"
            )
        lines.append(f"  chance: about 1/{len(REFERENCE_CATS) * 2 - 1} ({1 / 27:.2f})")
    return "\n".join(lines)


REFERENCE_CATS = sorted(pd.read_csv(REFERENCE / "labels.csv")["category"].unique())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sky", type=Path, required=True, help="held-out mock sky with truth")
    parser.add_argument("--classifiers", type=Path, action="append", help="default the shipped")
    parser.add_argument("--encoder", type=Path, action="append", help="default the shipped")
    parser.add_argument("--no-encoder", action="store_true", help="skip the encoder")
    parser.add_argument("--out", type=Path, help="also write the text here (+ .json beside it)")
    args = parser.parse_args()
    started = time.monotonic()
    labels, images = load_reference()
    result = {"sky": str(args.sky), "classifiers": [], "encoders": []}
    for folder in args.classifiers or [DEFAULT_FOLDER]:
        result["classifiers"].append(judge_classifiers(folder, args.sky, labels, images))
    if not args.no_encoder:
        for folder in args.encoder or [ASSETS / "demo-encoder"]:
            result["encoders"].append(judge_encoder(folder, args.sky, labels, images))
    sky_config = args.sky / "sky_config.json"
    sky = json.loads(sky_config.read_text()) if sky_config.is_file() else {}
    text = (
        f"# python benchmarks/judges_real.py --sky {args.sky} ... "
        f"({time.monotonic() - started:.0f} s)\n"
        f"# mock: n={sky.get('n')} seed={sky.get('seed')} sky version {sky.get('version', 1)}\n"
        f"# real: {len(labels)} SDSS images of ../shared/reference/sdss_gz2 (a test set; "
        "never trained on)\n" + format_report(result)
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
