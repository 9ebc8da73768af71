"""Judges from catalogue votes vs from the truth: the route a real user has, checked on a mock sky.

A real user has the GZ2 catalogue and images, not a truth table. This trains
the 11 feature classifiers twice on the same images of a mock sky: once from
the well-sampled tags of ``galaxysd prepare`` (votes only) and once from the
sky's truth, with the same settings and seed, and scores both against the
truth of a held-out mock sky (balanced accuracy per head, joint targets: "is
the answer true and its question asked?", thresholds as each model chose
them on its own validation split). It also says how far the vote labels are
from the truth on the training images (coverage: share of (galaxy, head)
targets the votes determine; agreement where they do).

    python benchmarks/vote_judges.py --sky SKY --heldout SKY2 [--epochs 12] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.classify.images import load_images
from galaxysd_core.gz2.dataset import PrepareConfig, prepare_dataset
from galaxysd_core.metrics.config import FeatureClassifierConfig
from galaxysd_core.metrics.feature_training import (
    balanced_accuracy,
    train_feature_cnn,
    training_targets,
)
from galaxysd_core.metrics.features import FEATURES

NAMES = [f.name for f in FEATURES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sky", type=Path, required=True, help="mock sky to train on")
    parser.add_argument("--heldout", type=Path, required=True, help="mock sky to score on")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vote_judges"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", type=Path, help="also write the text here (+ .json beside it)")
    args = parser.parse_args()
    started = time.monotonic()
    prepared = args.work / "prepared"
    if not (prepared / "metadata.jsonl").is_file():
        # every well-sampled galaxy (no down-sampling): the classifiers want them all
        prepare_dataset(
            PrepareConfig.from_sky(args.sky, out=prepared, max_per_tag=10**9, overwrite=True)
        )
    paths, vote_y, vote_known, _ = training_targets(prepared)
    _, truth_y_all, _, _ = training_targets(args.sky)
    truth = pd.read_parquet(args.sky / "truth.parquet")
    row_of = {f"{a}.jpg": i for i, a in enumerate(truth["asset_id"])}
    rows = np.array([row_of[p.name] for p in paths])
    truth_y = truth_y_all[rows]
    images, _ = load_images(paths, 64)
    held_paths, held_y, _, _ = training_targets(args.heldout)
    held_images, _ = load_images(held_paths, 64)
    config = FeatureClassifierConfig(epochs=args.epochs, zoom=2, seed=0, output_dir=args.work)
    result = {
        "sky": str(args.sky),
        "heldout": str(args.heldout),
        "images": len(paths),
        "epochs": args.epochs,
        "coverage": {n: float(vote_known[:, i].mean()) for i, n in enumerate(NAMES)},
        "vote_agreement": {
            n: float((vote_y[vote_known[:, i], i] == truth_y[vote_known[:, i], i]).mean())
            for i, n in enumerate(NAMES)
        },
    }
    for name, y, known in (
        ("votes", vote_y, vote_known),
        ("truth", truth_y, np.ones_like(truth_y)),
    ):
        t0 = time.monotonic()
        cnn = train_feature_cnn(images, y, known, config=config)
        pred = cnn.predict(held_images)
        result[name] = {
            "bacc": {n: balanced_accuracy(pred[:, i], held_y[:, i]) for i, n in enumerate(NAMES)},
            "seconds": round(time.monotonic() - t0),
        }
        result[name]["mean"] = float(np.nanmean(list(result[name]["bacc"].values())))
    lines = [
        f"# python benchmarks/vote_judges.py --sky {args.sky} --heldout {args.heldout} "
        f"--epochs {args.epochs}  ({time.monotonic() - started:.0f} s)",
        f"# {len(paths)} training images (galaxysd prepare, every well-sampled galaxy); "
        f"scored on {len(held_paths)} held-out galaxies' truth (joint targets)",
        f"{'head':27s} {'coverage':>8s} {'agree':>6s} {'votes':>6s} {'truth':>6s} {'diff':>6s}",
    ]
    for n in NAMES:
        v, t = result["votes"]["bacc"][n], result["truth"]["bacc"][n]
        lines.append(
            f"{n:27s} {result['coverage'][n]:8.2f} {result['vote_agreement'][n]:6.3f} "
            f"{v:6.3f} {t:6.3f} {v - t:+6.3f}"
        )
    v, t = result["votes"]["mean"], result["truth"]["mean"]
    lines.append(f"{'mean':27s} {'':8s} {'':6s} {v:6.3f} {t:6.3f} {v - t:+6.3f}")
    lines.append(
        f"training: votes {result['votes']['seconds']} s, truth {result['truth']['seconds']} s"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
