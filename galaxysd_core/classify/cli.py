"""``galaxysd classify-experiment``: the paper's Table 2/3 experiments."""

from __future__ import annotations

import argparse

from galaxysd_core.classify.config import ExperimentConfig
from galaxysd_core.cli import add_task_command


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``classify-experiment`` sub-command."""
    run = "galaxysd_core.classify.experiments:run_experiment"
    add_task_command(sub, "classify-experiment", ExperimentConfig, run, show=_table)


def _table(summary) -> str:
    columns = ["arm", "purity", "completeness", "f1", "paper_purity", "paper_completeness"]
    return summary[[*columns, "paper_f1"]].round(3).to_string(index=False)
