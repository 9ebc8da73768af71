"""``galaxysd prepare``: a GZ2 catalogue and its images -> a captioned training folder."""

from __future__ import annotations

import argparse
import json

from galaxysd_core.cli import (
    add_config_arguments,
    config_from_args,
    given_values,
    run_with_progress,
)
from galaxysd_core.gz2.config import PrepareConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` sub-command to the ``galaxysd`` hub."""
    parser = subparsers.add_parser(
        "prepare",
        help="GZ2 catalogue -> well-sampled tags -> balanced captioned dataset",
        description=(
            "Label a GZ2 catalogue with well-sampled tags (Willett 2013 Table 3), drop "
            "artifacts and 'something odd', exclude D-ETGs, down-sample each tag and "
            "write a diffusers image folder (metadata.jsonl) plus one .txt caption per image."
        ),
    )
    add_config_arguments(parser, PrepareConfig)
    parser.add_argument(
        "--sky", help="a mock sky folder: fills --catalog/--mapping/--images/--exclude"
    )
    parser.set_defaults(func=_run)


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
