"""``galaxysd prepare``: a GZ2 catalogue and its images -> a captioned training folder."""

from __future__ import annotations

import argparse
import json

from galaxysd_core.cli import add_task_command, config_from_args, given_values, run_with_progress
from galaxysd_core.gz2.config import PrepareConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` sub-command to the ``galaxysd`` hub."""
    parser = add_task_command(subparsers, "prepare", PrepareConfig, _run)
    parser.add_argument(
        "--sky", help="a mock sky folder: fills --catalog/--mapping/--images/--exclude"
    )


def _run(args: argparse.Namespace) -> int:
    from galaxysd_core.gz2.dataset import prepare_dataset

    if args.sky and not args.config:
        config = PrepareConfig.from_sky(args.sky, **given_values(PrepareConfig, args))
    else:
        config = config_from_args(PrepareConfig, args)
    out = run_with_progress(prepare_dataset, config, "prepare")
    summary = json.loads((out / "stats" / "summary.json").read_text("utf-8"))
    funnel = " -> ".join(f"{k} {v}" for k, v in summary["funnel"].items())
    print(f"prepared {out}\n{funnel}")
    images = summary["images"]
    if images["skipped"]:
        print(
            f"skipped {images['skipped']} galaxies: {images['no_mapping']} without mapping, "
            f"{images['missing_file']} without image file, {images['corrupt']} unreadable"
        )
    return 0
