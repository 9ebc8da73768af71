"""``galaxysd feature-classifiers`` and ``galaxysd evaluate`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.metrics.config import EvaluateConfig, FeatureClassifierConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feature-classifiers`` and ``evaluate`` commands to the hub."""
    train = "galaxysd_core.metrics.feature_training:train_feature_classifiers"
    add_task_command(subparsers, "feature-classifiers", FeatureClassifierConfig, train)
    evaluate = "galaxysd_core.metrics.evaluate:evaluate_run"
    add_task_command(subparsers, "evaluate", EvaluateConfig, evaluate)
