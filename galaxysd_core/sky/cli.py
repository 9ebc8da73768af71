"""``galaxysd sky``: build a mock GZ2 sky (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.sky.config import SkyConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sky`` command to the hub."""
    add_task_command(subparsers, "sky", SkyConfig, "galaxysd_core.sky.build:build_sky")
