"""``galaxysd sky``: build a mock GZ2 sky (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_arguments, config_from_args, run_with_progress
from galaxysd_core.sky.config import SkyConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sky`` command to the hub."""
    p = subparsers.add_parser(
        "sky",
        help="build a mock GZ2 sky (images, catalogue, truth)",
        description="Build a procedural mock sky in the Galaxy Zoo 2 format: catalog.csv, "
        "filename_mapping.csv, images/{asset_id}.jpg, truth.parquet, known_detg.csv.",
    )
    add_config_arguments(p, SkyConfig)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from galaxysd_core.sky import build_sky
    from galaxysd_core.sky.build import check_output

    config = config_from_args(SkyConfig, args)
    check_output(config.resolved_out(), overwrite=config.overwrite)
    print(run_with_progress(build_sky, config, "mock sky"))
    return 0
