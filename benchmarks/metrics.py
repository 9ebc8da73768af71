"""Benchmark: realism + diversity for 30,000 real x 10,000 generated 128-d embeddings.

Target (issue 5): <= 3 s on 2 cores. Also times two straightforward loops on a
subset and extrapolates linearly to the full size (both loops are linear in the
number of generated images, so the extrapolation is fair):

- ``python loop``: for each generated image, for each real image, a cosine in
  Python (the literal reading of Eq. 1 and 3);
- ``per-image numpy``: for each generated image, one vectorised row of cosines
  against all real images.

Run: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/metrics.py``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
os.environ.setdefault("MKL_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

import argparse
import math
import time

import numpy as np

from galaxysd_core.metrics import diversity, realism


def python_loop(real: np.ndarray, gen: np.ndarray) -> tuple[float, float]:
    """Eq. 1 and 3 written as plain loops over image pairs."""
    real_l = [list(map(float, r)) for r in real]
    norms_r = [math.sqrt(sum(v * v for v in r)) for r in real_l]
    best_sum = 0.0
    all_sum = 0.0
    for g in gen:
        g_l = list(map(float, g))
        ng = math.sqrt(sum(v * v for v in g_l))
        best = -2.0
        for r, nr in zip(real_l, norms_r, strict=True):
            s = sum(a * b for a, b in zip(r, g_l, strict=True)) / (nr * ng)
            best = max(best, s)
            all_sum += s
        best_sum += best
    return best_sum / len(gen), all_sum / (len(gen) * len(real))


def per_image_numpy(real: np.ndarray, gen: np.ndarray) -> tuple[float, float]:
    """Eq. 1 and 3 with one vectorised row of cosines per generated image."""
    rn = real / np.linalg.norm(real, axis=1, keepdims=True)
    best, total = 0.0, 0.0
    for g in gen:
        row = rn @ (g / np.linalg.norm(g))
        best += float(row.max())
        total += float(row.sum(dtype=np.float64))
    return best / len(gen), total / (len(gen) * len(real))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=30_000)
    parser.add_argument("--gen", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    real = rng.normal(size=(args.real, args.dim)).astype(np.float32)
    gen = rng.normal(size=(args.gen, args.dim)).astype(np.float32)

    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        r, d = realism(real, gen), diversity(real, gen)
        times.append(time.perf_counter() - t0)
    fast = min(times)
    print(f"threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(
        f"vectorised realism+diversity, {args.real} x {args.gen} x {args.dim}: "
        f"best {fast:.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
        f"(R={r:.4f}, D={d:.5f}); target <= 3 s: {'PASS' if fast <= 3 else 'FAIL'}"
    )

    for name, fn, n_sub in (
        ("per-image numpy", per_image_numpy, 200),
        ("python loop", python_loop, 2),
    ):
        t0 = time.perf_counter()
        r_sub, _ = fn(real, gen[:n_sub])
        elapsed = time.perf_counter() - t0
        full = elapsed * args.gen / n_sub
        check = realism(real, gen[:n_sub])
        print(
            f"{name}: {n_sub} generated images in {elapsed:.2f} s -> extrapolated "
            f"{full:.1f} s for {args.gen} ({full / fast:.0f}x slower); "
            f"realism agrees to {abs(r_sub - check):.1e}"
        )


if __name__ == "__main__":
    main()
