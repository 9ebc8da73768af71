"""Benchmark: labelling 240,000 GZ2 catalogue rows (issue 3 target: <= 20 s on 2 cores).

Repeats a mock-sky catalogue to 240,000 rows (the paper's 239,695 galaxies) and
times, on the in-memory table:

- ``well_sampled_flags``: the 37 boolean answer columns (Willett 2013 Table 3 rules);
- ``label_catalog``: flags + tag tuples + prompt text + gz2_class + D-ETG marks,
  i.e. everything ``galaxysd prepare`` computes per galaxy before balancing;
- ``select``: the whole in-memory funnel including the per-tag down-sampling
  (everything but reading the file and copying images).

Run: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/label.py [--sky DIR] [--rows 240000]``
(without ``--sky`` a 300-galaxy, 16 px mock sky is built in a temporary folder).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from galaxysd_core.gz2 import label_catalog, read_catalog, well_sampled_flags
from galaxysd_core.gz2.dataset import select

GOAL_S = 20.0


def _catalog(sky: Path | None, tmp: Path) -> pd.DataFrame:
    if sky is None:
        from galaxysd_core.sky import SkyConfig, build_sky

        sky = build_sky(SkyConfig(n=300, size=16, seed=0, out=tmp / "sky"))
    return read_catalog(sky / "catalog.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sky", type=Path, help="mock sky folder (default: build a tiny one)")
    parser.add_argument("--rows", type=int, default=240_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = _catalog(args.sky, Path(tmp))
    repeats = -(-args.rows // len(base))
    table = pd.concat([base] * repeats, ignore_index=True).head(args.rows)
    # Distinct ids, as in a real catalogue.
    table["dr7objid"] = table["dr7objid"].to_numpy() + table.index.to_numpy() * 10**6

    start = time.perf_counter()
    flags = well_sampled_flags(table)
    t_flags = time.perf_counter() - start
    start = time.perf_counter()
    labels = label_catalog(table)
    t_label = time.perf_counter() - start
    start = time.perf_counter()
    _, funnel = select(table)
    t_select = time.perf_counter() - start
    tagged = int(labels["tags"].map(bool).sum())
    print(f"rows: {len(table):,} (mock catalogue x{repeats}), {flags.shape[1]} answers")
    print(
        f"well_sampled_flags: {t_flags:.2f} s  ({t_flags / GOAL_S:.3f} of the {GOAL_S:.0f} s goal)"
    )
    print(
        f"label_catalog:      {t_label:.2f} s  ({t_label / GOAL_S:.3f} of the {GOAL_S:.0f} s goal)"
    )
    print(
        f"select (funnel):    {t_select:.2f} s  ({t_select / GOAL_S:.3f} of the {GOAL_S:.0f} s goal)"
    )
    print(f"galaxies with a well-sampled tag: {tagged:,}; funnel {funnel}")


if __name__ == "__main__":
    main()
