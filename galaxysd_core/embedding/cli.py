"""``galaxysd simclr`` and ``galaxysd map`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

SIMCLR_FIELDS = (
    "data",
    "output_dir",
    "steps",
    "batch_size",
    "image_size",
    "time_limit_s",
    "max_images",
    "resume",
    "seed",
    "device",
)
MAP_FIELDS = ("real", "run", "encoder", "method", "max_real", "seed", "output_dir", "device")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simclr`` and ``map`` commands to the hub."""
    p = subparsers.add_parser(
        "simclr",
        help="train a SimCLR encoder (the metrics' embedding space)",
        description="Train a ResNet-18 SimCLR encoder (NT-Xent, tau 0.5) on a folder of galaxy "
        "images; writes checkpoints/ and encoder/ into --output-dir.",
    )
    p.add_argument("--data", help="mock sky / dataset / image folder")
    p.add_argument("--output-dir", dest="output_dir", help="run folder")
    p.add_argument("--steps", type=int, help="optimiser steps (default 2000)")
    p.add_argument("--batch-size", dest="batch_size", type=int, help="default 128")
    p.add_argument("--image-size", dest="image_size", type=int, help="default 64")
    p.add_argument("--time-limit-s", dest="time_limit_s", type=float, help="stop after seconds")
    p.add_argument("--max-images", dest="max_images", type=int, help="sample this many images")
    p.add_argument("--resume", help="'latest' or a checkpoint folder")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu or cuda")
    add_config_option(p)
    p.set_defaults(func=_simclr)

    m = subparsers.add_parser(
        "map",
        help="2-D map (UMAP / t-SNE / PCA) of real + generated embeddings",
        description="Embed real and generated images and write map.parquet (x, y and metadata) "
        "into --output-dir (default: the --run folder).",
    )
    m.add_argument("--run", help="evaluation run folder whose generated images to map")
    m.add_argument("--real", help="real image folder (default <workspace>/sky/default)")
    m.add_argument("--encoder", help="encoder folder (default assets/demo-encoder)")
    m.add_argument("--method", choices=("umap", "tsne", "pca"))
    m.add_argument("--max-real", dest="max_real", type=int)
    m.add_argument("--seed", type=int)
    m.add_argument("--output-dir", dest="output_dir")
    m.add_argument("--device")
    add_config_option(m)
    m.set_defaults(func=_map)


def _simclr(args: argparse.Namespace) -> int:
    from galaxysd_core.embedding import SimCLRConfig
    from galaxysd_core.embedding.train import train_simclr

    print(
        run_with_progress(
            train_simclr, config_from_args(SimCLRConfig, args, SIMCLR_FIELDS), "simclr"
        )
    )
    return 0


def _map(args: argparse.Namespace) -> int:
    from galaxysd_core.embedding import MapConfig
    from galaxysd_core.embedding.map import compute_map

    print(run_with_progress(compute_map, config_from_args(MapConfig, args, MAP_FIELDS), "map"))
    return 0
