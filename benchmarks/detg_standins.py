"""Render D-ETGs of another mock sky: the positives an ideal generator would give.

The discovery campaign's ceiling is what it finds when its synthetic positives
look exactly like the hidden class. This script draws a mock-sky population
with another seed than the campaign's sky, keeps its D-ETGs (smooth, round or
in-between, with a dust lane) and renders them with the sky's own renderer
and JPEG coding, so that

    galaxysd discover round --synthetic-dir OUT/images ...

runs the campaign on them in place of the demo model's images. None of these
galaxies is in the campaign's sky (another seed draws other galaxies).

``--kind plain`` renders the control instead: the D-ETGs' hosts without
their lane (smooth, round or in-between, no odd feature), the positives of a
generator that draws the host and drops the lane.

Run::

    python benchmarks/detg_standins.py --seed 11 --n 128 --size 128 --out DIR [--kind plain]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from galaxysd_core.sky.build import add_identifiers, render_images
from galaxysd_core.sky.population import sample_population

log = logging.getLogger("detg_standins")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, default=11, help="population seed (not the campaign sky's)"
    )
    parser.add_argument("--n", type=int, default=128, help="D-ETGs to render")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument(
        "--kind",
        choices=("detg", "plain"),
        default="detg",
        help="detg: D-ETGs; plain: their hosts without a lane (the control)",
    )
    parser.add_argument("--out", required=True, help="new folder; images go to OUT/images")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    t0 = time.perf_counter()
    # D-ETGs are 0.25-0.35 % of the mock sky: draw enough for n with a margin.
    draw = max(1000, int(args.n / 0.002))
    pop = add_identifiers(sample_population(draw, seed=args.seed), seed=args.seed)
    if args.kind == "detg":
        chosen = pop.loc[pop["is_detg"].astype(bool)]
    else:  # smooth (kind 1), round or in-between (round_cls 0/1), no odd feature
        early = (pop["kind"] == 1) & (pop["round_cls"] < 2) & ~pop["odd"].astype(bool)
        chosen = pop.loc[early & ~pop["dusty_s0"].astype(bool)]
    if len(chosen) < args.n:
        raise SystemExit(
            f"--n: only {len(chosen)} {args.kind} galaxies among {draw} of seed {args.seed}"
        )
    chosen = chosen.iloc[: args.n]
    images = Path(args.out, "images")
    images.mkdir(parents=True, exist_ok=False)
    render_images(chosen, images, size=args.size, seed=args.seed)
    chosen.to_csv(Path(args.out, "truth.csv"), index=False)  # what each image shows
    log.info(
        "%d %s galaxies of seed %d (out of %d drawn) in %s, %.1f s",
        len(chosen),
        args.kind,
        args.seed,
        draw,
        images,
        time.perf_counter() - t0,
    )


if __name__ == "__main__":
    main()
