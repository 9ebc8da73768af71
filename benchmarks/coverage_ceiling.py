"""What a perfect generator would score: real galaxies of another sky as the "generated" set.

The evaluation's distribution figures depend on how many images are generated
per prompt: coverage (the share of real galaxies whose k-nearest-neighbour
ball holds a generated one) cannot reach the real-vs-real line (two halves of
the real set, hundreds each) with 12 images per prompt, however good they are.
This runs ``galaxysd evaluate`` unchanged, text mode, with a stand-in
generator that returns real galaxies carrying the prompt's tags from a second
mock sky (another seed, never compared against), for each ``--n``: the
two-sample accuracy, Fréchet distance, coverage and physical distance an ideal
generator reaches at that sample size, the line issue 14's goals (two-sample
<= 0.65, Fréchet <= 0.15, coverage >= 0.5, at 12 images per prompt) are read
against.

    python benchmarks/coverage_ceiling.py --real SKY --other SKY2 [--n 12 48] [--out DIR]

SKY is the held-out sky of the evaluation (``galaxysd sky --n 2000 --size 128
--seed 77``), SKY2 another (``--seed 78``). Judges: the shipped encoder and
feature classifiers, as ``galaxysd evaluate`` uses by default.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from galaxysd_core.gz2.folders import real_table
from galaxysd_core.gz2.prompts import TABLE1_PROMPTS
from galaxysd_core.metrics import EvaluateConfig
from galaxysd_core.metrics.evaluate import evaluate_run, prompt_text
from galaxysd_core.paths import DEMO_MODEL

COLUMNS = ("c2st", "fd", "coverage", "physical", "realism")


def stand_in(other: pd.DataFrame):
    """A generate_fn returning ``n`` galaxies of ``other`` with the prompt's tags."""
    letters = {prompt_text(letter): letter for letter in TABLE1_PROMPTS}

    def generate(_pipeline, prompt, *, n, seed, **_settings):
        want = set(TABLE1_PROMPTS[letters[prompt]])
        rows = np.flatnonzero([want <= set(t) for t in other["tags"]])
        if len(rows) == 0:
            rows = np.arange(len(other))
        picked = np.random.default_rng(seed).choice(rows, n, replace=len(rows) < n)
        return [Image.open(other["path"].iloc[i]).convert("RGB") for i in picked]

    return generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", required=True, help="the held-out sky compared against")
    parser.add_argument("--other", required=True, help="another sky: the ideal generator")
    parser.add_argument("--n", type=int, nargs="+", default=[12, 48])
    parser.add_argument("--out", help="keep the evaluations here (default: a temporary folder)")
    args = parser.parse_args()
    other = real_table(args.other)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.out or tmp)
        for n in args.n:
            start = time.perf_counter()
            config = EvaluateConfig(
                run=DEMO_MODEL,
                real=Path(args.real),
                modes=("text",),
                n_images=n,
                output_dir=base / f"n{n}",
            )
            evaluate_run(config, generate_fn=stand_in(other))
            metrics = pd.read_parquet(base / f"n{n}" / "metrics.parquet")
            alls = metrics[metrics["prompt"] == "ALL"].set_index("mode")
            sets = [("text", f"another sky, {n} per prompt")]
            if not rows:  # the same for every n
                sets.insert(0, ("real-vs-real", "real vs real (two halves)"))
            for mode, label in sets:
                rows.append(
                    {"set": label} | {c: round(float(alls.loc[mode, c]), 3) for c in COLUMNS}
                )
            print(f"n={n}: {time.perf_counter() - start:.0f} s", flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
