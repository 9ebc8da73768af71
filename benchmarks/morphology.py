"""Time the physical judges: statmorph morphology of mock-sky cutouts, images per second.

Usage::

    .venv/bin/python benchmarks/morphology.py [--n 400] [--sizes 64 128] [--workers 2]

Builds a small mock sky at each size in a temporary folder, then measures
:func:`galaxysd_core.metrics.morphology.morphology_table` on its images (JPEG
decoding included; the Sérsic fit skipped, as in every evaluation). Prints
wall images/s and the CPU seconds per image, which on a busy machine give the
rate the same run has on idle cores (CPU s / workers).
Goal (issue 16): >= 50 images/s at 64 px on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from galaxysd_core.metrics.morphology import morphology_table
from galaxysd_core.sky import SkyConfig, build_sky


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            sky = Path(tmp) / f"sky{size}"
            build_sky(SkyConfig(n=args.n, size=size, seed=args.seed, out=sky, workers=2))
            files = sorted((sky / "images").glob("*.jpg"))
            start, cpu0 = time.perf_counter(), os.times()
            table = morphology_table(files, workers=args.workers)
            wall, cpu1 = time.perf_counter() - start, os.times()
            cpu = sum(cpu1[:4]) - sum(cpu0[:4])  # this process + finished workers
            print(
                f"{size}x{size}: {len(files)} images, {args.workers} workers: {wall:.1f} s wall, "
                f"{len(files) / wall:.1f} images/s; CPU {1000 * cpu / len(files):.0f} ms/image "
                f"-> {args.workers * len(files) / cpu:.1f} images/s on {args.workers} idle cores; "
                f"flagged {table['flag'].mean():.1%} (load average {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
