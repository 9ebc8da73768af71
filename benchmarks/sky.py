"""Time a mock-sky build: population, votes catalogue, images, files.

Usage::

    .venv/bin/python benchmarks/sky.py [--n 10000] [--size 64] [--workers 2]

Prints the seconds of each stage and the images per second of the whole build.
Goal (issue 2): 10,000 galaxies at 64x64 with catalogue in <= 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from galaxysd_core.sky import SkyConfig, build_sky
from galaxysd_core.sky.build import add_identifiers
from galaxysd_core.sky.population import sample_population
from galaxysd_core.sky.votes import build_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    t0 = time.perf_counter()
    pop = add_identifiers(sample_population(args.n, seed=args.seed), seed=args.seed)
    t1 = time.perf_counter()
    build_catalog(pop, seed=args.seed)
    t2 = time.perf_counter()
    print(f"population: {t1 - t0:.2f} s   catalogue (votes): {t2 - t1:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        config = SkyConfig(
            n=args.n, size=args.size, seed=args.seed, out=Path(tmp) / "sky", workers=args.workers
        )
        start, cpu0 = time.perf_counter(), os.times()
        build_sky(config)
        total, cpu1 = time.perf_counter() - start, os.times()
    # CPU seconds of this process and its finished workers: on a busy machine
    # this / cores estimates the wall time the same build takes on idle cores.
    cpu = sum(cpu1[:4]) - sum(cpu0[:4])
    print(
        f"full build: {args.n} galaxies at {args.size}x{args.size}, "
        f"{config.resolved_workers()} workers on {os.cpu_count()} CPUs: "
        f"{total:.1f} s, {args.n / total:.0f} images/s "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"CPU time of the build: {cpu:.1f} s ({cpu / config.resolved_workers():.1f} s per worker)"
    )


if __name__ == "__main__":
    main()
