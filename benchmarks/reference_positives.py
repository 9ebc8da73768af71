"""Synthetic D-ETGs from a reference start: smooth round training galaxies, noised.

The paper starts generation from a real image with the same tags against
over-brightness. No training image shows a D-ETG (they are held back), so
this starts each composed D-ETG prompt from a training galaxy of its host
kind (completely round, or in-between) without a dust lane, noised to
``--strength``, and lets the prompt add the lane. The folder then serves as
``galaxysd discover round --synthetic-dir OUT`` (``benchmarks/campaign.sh``).

Run::

    python benchmarks/reference_positives.py --model assets/demo-model \\
        --pool BUILD/dataset --strength 0.8 --n 64 --out DIR
"""

from __future__ import annotations

import argparse
import logging
import random
import time

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.diffusion.data import read_metadata
from galaxysd_core.gz2 import DETG_COMPOSED_PROMPTS

log = logging.getLogger("reference_positives")

#: The host tag each composed prompt starts from, in DETG_COMPOSED_PROMPTS' order.
HOSTS = ("completely_round", "in_between")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="assets/demo-model")
    parser.add_argument("--pool", required=True, help="the model's prepared training set")
    parser.add_argument("--strength", type=float, default=0.8)
    parser.add_argument("--n", type=int, default=64, help="images per prompt")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    records = read_metadata(args.pool)
    pipeline = load_pipeline(args.model)
    t0 = time.perf_counter()
    for k, (prompt, host) in enumerate(zip(DETG_COMPOSED_PROMPTS, HOSTS, strict=True)):
        starts = sorted(
            (r.image for r in records if host in r.tags and "dust_lane" not in r.tags),
            key=lambda path: path.name,
        )
        for i in range(args.n):
            generate(
                pipeline,
                prompt,
                n=1,
                seed=i,
                steps=args.steps,
                guidance=7.0,
                guidance_interval=(0, 400),
                reference=str(random.Random(i).choice(starts)),
                strength=args.strength,
                out=args.out,
                names=[f"p{k}"],
            )
    log.info("%d images in %s, %.0f s", 2 * args.n, args.out, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
