"""``galaxysd sky``: build a mock GZ2 sky (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

FIELDS = ("n", "size", "seed", "out", "overwrite", "workers")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sky`` command to the hub."""
    p = subparsers.add_parser(
        "sky",
        help="build a mock GZ2 sky (images, catalogue, truth)",
        description="Build a procedural mock sky in the Galaxy Zoo 2 format: catalog.csv, "
        "filename_mapping.csv, images/{asset_id}.jpg, truth.parquet, known_detg.csv.",
    )
    p.add_argument("--n", type=int, help="number of galaxies (default 1000)")
    p.add_argument("--size", type=int, help="image side in pixels, even (default 64; GZ2 is 424)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--out", help="output folder (default <workspace>/sky/seed<K>-n<N>-<S>px)")
    p.add_argument(
        "--overwrite", action="store_true", default=None, help="replace a non-empty output"
    )
    p.add_argument("--workers", type=int, help="rendering processes (default min(2, CPUs))")
    add_config_option(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from galaxysd_core.sky import SkyConfig, build_sky
    from galaxysd_core.sky.build import check_output

    config = config_from_args(SkyConfig, args, FIELDS)
    check_output(config.resolved_out(), overwrite=config.overwrite)
    print(run_with_progress(build_sky, config, "mock sky"))
    return 0
