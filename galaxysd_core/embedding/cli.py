"""``galaxysd simclr``, ``galaxysd simclr-probe`` and ``galaxysd map`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

SIMCLR_FIELDS = (
    "data",
    "output_dir",
    "steps",
    "batch_size",
    "lr",
    "warmup_steps",
    "cosine",
    "image_size",
    "time_limit_s",
    "max_images",
    "resume",
    "init",
    "randomise",
    "half",
    "seed",
    "device",
)
MAP_FIELDS = ("real", "run", "encoder", "method", "max_real", "seed", "output_dir", "device")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simclr``, ``simclr-probe`` and ``map`` commands to the hub."""
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
    p.add_argument("--lr", type=float, help="peak Adam learning rate (default 1e-3)")
    p.add_argument("--warmup-steps", dest="warmup_steps", type=int, help="linear warm-up steps")
    p.add_argument(
        "--cosine", action="store_true", default=None, help="cosine decay of the lr to 0 at --steps"
    )
    p.add_argument("--image-size", dest="image_size", type=int, help="default 64")
    p.add_argument("--time-limit-s", dest="time_limit_s", type=float, help="stop after seconds")
    p.add_argument("--max-images", dest="max_images", type=int, help="sample this many images")
    p.add_argument("--resume", help="'latest' or a checkpoint folder")
    p.add_argument("--init", help="encoder folder to fine-tune from (e.g. assets/demo-encoder)")
    p.add_argument(
        "--no-randomise",
        dest="randomise",
        action="store_false",
        default=None,
        help="views without survey domain randomisation",
    )
    p.add_argument(
        "--half", action="store_true", default=None, help="store the final encoder in fp16"
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu or cuda")
    add_config_option(p)
    p.set_defaults(func=_simclr)

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


def _map(args: argparse.Namespace) -> int:
    from galaxysd_core.embedding import MapConfig
    from galaxysd_core.embedding.map import compute_map

    print(run_with_progress(compute_map, config_from_args(MapConfig, args, MAP_FIELDS), "map"))
    return 0
