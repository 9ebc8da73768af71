"""``galaxysd feature-classifiers``, ``evaluate``, ``morphology`` and ``grid`` (parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command, config_from_args, run_with_progress
from galaxysd_core.metrics.config import EvaluateConfig, FeatureClassifierConfig
from galaxysd_core.metrics.grid import GridConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feature-classifiers``, ``evaluate``, ``morphology`` and ``grid`` commands."""
    train = "galaxysd_core.metrics.feature_training:train_feature_classifiers"
    add_task_command(subparsers, "feature-classifiers", FeatureClassifierConfig, train)
    evaluate = "galaxysd_core.metrics.evaluate:evaluate_run"
    add_task_command(subparsers, "evaluate", EvaluateConfig, evaluate)

    m = subparsers.add_parser(
        "morphology",
        help="statmorph statistics of a folder of images (and distances to a real folder)",
        description="Measure Gini, M20, concentration, asymmetry, smoothness, ellipticity, r50 "
        "and colour of every image under --images (statmorph, no Sérsic fit); with --real, also "
        "the scaled Wasserstein distance per statistic with bootstrap intervals and the "
        "real-vs-real floor (two disjoint halves of --real).",
    )
    m.add_argument("--images", required=True, help="folder of .png/.jpg images (recursive)")
    m.add_argument("--real", help="folder of real images to compare with")
    m.add_argument("--size", type=int, default=64, help="measure at SIZE x SIZE pixels")
    m.add_argument("--workers", type=int, default=2)
    m.add_argument("--out", help="write the per-image table here (.csv or .parquet)")
    m.set_defaults(func=_morphology)
    add_task_command(subparsers, "grid", GridConfig, _grid)


def _morphology(args: argparse.Namespace) -> int:
    import pandas as pd

    from galaxysd_core.metrics.morphology import (
        distance_table,
        failure_counts,
        morphology_table,
        read_folder,
        real_halves,
        real_scale,
    )
    from galaxysd_core.progress import progress_for_cli

    def measure(folder: str) -> pd.DataFrame:
        files = read_folder(folder)
        progress = progress_for_cli(f"morphology {folder}")
        table = morphology_table(files, size=args.size, workers=args.workers, progress=progress)
        return table.assign(path=[str(f) for f in files])

    generated = measure(args.images)
    print(f"{len(generated)} images, {generated['flag'].mean():.1%} flagged")
    if generated["flag"].any():
        print(failure_counts(generated).to_string(index=False))
    print(generated.drop(columns="path").describe().T[["mean", "std", "min", "max"]].round(3))
    if args.out:
        out = generated.to_csv if args.out.endswith(".csv") else generated.to_parquet
        out(args.out, index=False)
    if args.real:
        real = measure(args.real)
        scale = real_scale(real)
        table = distance_table(real, generated, scale=scale).assign(pair="images vs real")
        floor = distance_table(*real_halves(real), scale=scale).assign(pair="real vs real")
        both = pd.concat([table, floor]).pivot(index="statistic", columns="pair")
        print("scaled Wasserstein distances (fraction of the real 1-99 % range), 95 % intervals:")
        print(both.reindex(table["statistic"]).round(3).to_string())
    return 0


def _grid(args: argparse.Namespace) -> int:
    from galaxysd_core.metrics.grid import run_grid
    from galaxysd_core.paths import workspace
    from galaxysd_core.progress import run_folder

    config = config_from_args(GridConfig, args)
    config.output_dir = run_folder(config.output_dir) or workspace().runs / "grid"
    print(run_with_progress(run_grid, config, "grid") / "grid.png")
    return 0
