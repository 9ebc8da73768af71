"""``galaxysd feature-classifiers``, ``evaluate``, ``morphology`` and ``grid`` (parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.metrics.config import EvaluateConfig, FeatureClassifierConfig, MorphologyConfig
from galaxysd_core.metrics.grid import GridConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feature-classifiers``, ``evaluate``, ``morphology`` and ``grid`` commands."""
    train = "galaxysd_core.metrics.feature_training:train_feature_classifiers"
    add_task_command(subparsers, "feature-classifiers", FeatureClassifierConfig, train)
    evaluate = "galaxysd_core.metrics.evaluate:evaluate_run"
    add_task_command(subparsers, "evaluate", EvaluateConfig, evaluate)
    compare = "galaxysd_core.metrics.physical:compare_folders"
    add_task_command(subparsers, "morphology", MorphologyConfig, compare, show=_morphology_text)
    run_grid = "galaxysd_core.metrics.grid:run_grid"
    add_task_command(subparsers, "grid", GridConfig, run_grid, show=lambda out: out / "grid.png")


def _morphology_text(found: dict) -> str:
    from galaxysd_core.metrics.morphology import failure_counts

    images = found["images"]
    lines = [f"{len(images)} images, {images['flag'].mean():.1%} flagged"]
    if images["flag"].any():
        lines.append(failure_counts(images).to_string(index=False))
    lines.append(
        str(images.drop(columns="path").describe().T[["mean", "std", "min", "max"]].round(3))
    )
    if "distances" in found:
        lines.append(
            "scaled Wasserstein distances (fraction of the real 1-99 % range), 95 % intervals:"
        )
        lines.append(found["distances"].round(3).to_string())
    return "\n".join(lines)
