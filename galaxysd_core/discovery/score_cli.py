"""Entry point for scoring under ``accelerate launch`` (several processes).

    accelerate launch --multi_gpu --num_processes 2 -m galaxysd_core.discovery.score_cli \
        CLASSIFIER_DIR ITEMS.parquet OUT_DIR [--batch-size N] [--chunk-size N]

``ITEMS.parquet`` holds ``object_id, path``. Each process scores its share of
the chunks; the main process merges them (see :mod:`.scoring`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and score; returns the exit status."""
    import pandas as pd

    from galaxysd_core.discovery.scoring import score_distributed
    from galaxysd_core.errors import GalaxySDError

    parser = argparse.ArgumentParser(prog="galaxysd-score")
    parser.add_argument("classifier")
    parser.add_argument("items")
    parser.add_argument("out")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--chunk-size", type=int, default=4096)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        score_distributed(
            args.classifier,
            pd.read_parquet(args.items),
            args.out,
            batch_size=args.batch_size,
            chunk_size=args.chunk_size,
        )
    except GalaxySDError as exc:
        print(f"galaxysd-score: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
