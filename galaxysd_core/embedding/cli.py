"""``galaxysd simclr``, ``galaxysd simclr-probe`` and ``galaxysd map`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command, run_with_progress
from galaxysd_core.embedding.config import MapConfig, SimCLRConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simclr``, ``simclr-probe`` and ``map`` commands to the hub."""
    simclr = "galaxysd_core.embedding.train:train_simclr"
    add_task_command(subparsers, "simclr", SimCLRConfig, simclr)
    q = subparsers.add_parser(
        "simclr-probe",
        help="linear-probe and k-NN evidence for an encoder (vs random init) on a mock sky",
        description="Embed a mock sky (held out: not the training sky's seed) with the encoder "
        "and with the same architecture at random init, and write per-tag cross-validated "
        "balanced accuracies as JSON (the demo encoder's probe.json).",
    )
    q.add_argument("--encoder", required=True, help="encoder folder")
    q.add_argument(
        "--sky", required=True, help="mock sky (truth.parquet) or prepared dataset (votes)"
    )
    q.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
    q.add_argument("--seed", type=int, default=0, help="random-init and fold seed (default 0)")
    q.add_argument("--out", required=True, help="JSON file to write")
    q.set_defaults(func=_probe)
    add_task_command(subparsers, "map", MapConfig, "galaxysd_core.embedding.map:compute_map")


def _probe(args: argparse.Namespace) -> int:
    from galaxysd_core.atomic import atomic_write_json
    from galaxysd_core.embedding.probe import probe_encoder

    result = run_with_progress(
        probe_encoder, args.encoder, "simclr-probe", sky=args.sky, folds=args.folds, seed=args.seed
    )
    atomic_write_json(args.out, result)
    print(
        f"linear {result['mean_linear']} (random init {result['mean_linear_random_init']}), "
        f"k-NN {result['mean_knn']} (random init {result['mean_knn_random_init']}) -> {args.out}"
    )
    return 0
