"""``galaxysd sky``: build a mock GZ2 sky (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command, config_from_args, run_with_progress
from galaxysd_core.sky.config import SkyConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sky`` command to the hub."""
    add_task_command(subparsers, "sky", SkyConfig, _run)


def _run(args: argparse.Namespace) -> int:
    from galaxysd_core.sky import build_sky
    from galaxysd_core.sky.build import check_output

    config = config_from_args(SkyConfig, args)
    check_output(config.resolved_out(), overwrite=config.overwrite)  # before the slow part
    print(run_with_progress(build_sky, config, "mock sky"))
    return 0
