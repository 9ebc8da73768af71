"""``galaxysd simclr``, ``galaxysd simclr-probe`` and ``galaxysd map`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.embedding.config import MapConfig, ProbeConfig, SimCLRConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simclr``, ``simclr-probe`` and ``map`` commands to the hub."""
    add_task_command(
        subparsers, "simclr", SimCLRConfig, "galaxysd_core.embedding.train:train_simclr"
    )
    probe = "galaxysd_core.embedding.probe:run_probe"
    add_task_command(subparsers, "simclr-probe", ProbeConfig, probe, show=_probe_text)
    add_task_command(subparsers, "map", MapConfig, "galaxysd_core.embedding.map:compute_map")


def _probe_text(result: dict) -> str:
    return (
        f"linear {result['mean_linear']} (random init {result['mean_linear_random_init']}), "
        f"k-NN {result['mean_knn']} (random init {result['mean_knn_random_init']})"
    )
