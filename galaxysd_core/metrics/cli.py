"""``galaxysd feature-classifiers`` and ``galaxysd evaluate`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.metrics.config import EvaluateConfig, FeatureClassifierConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feature-classifiers`` and ``evaluate`` commands to the hub."""
    add_task_command(
        subparsers,
        "feature-classifiers",
        FeatureClassifierConfig,
        "galaxysd_core.metrics.feature_training:train_feature_classifiers",
        help="train the 11 consistency classifiers (one multi-task CNN on pixels)",
        description="Train a small multi-task ResNet with 11 feature logits (Sec. 4.1) on a "
        "labelled mock sky; writes model.safetensors + feature_classifiers.json (thresholds, "
        "per-feature validation balanced accuracy) into --output-dir.",
    )
    add_task_command(
        subparsers,
        "evaluate",
        EvaluateConfig,
        "galaxysd_core.metrics.evaluate:evaluate_run",
        help="realism / diversity / consistency over a run's checkpoints (+ settings sweep)",
        description="Generate images per checkpoint x Table 1 prompt, score them against the real "
        "set and write metrics.parquet (and pareto.parquet with --sweep) into the run folder.",
    )
