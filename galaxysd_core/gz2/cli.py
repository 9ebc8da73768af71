"""``galaxysd prepare``: a GZ2 catalogue and its images -> a captioned training folder."""

from __future__ import annotations

import argparse
import json

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

_FIELDS = (
    "catalog",
    "mapping",
    "images",
    "out",
    "min_votes",
    "rule",
    "max_per_tag",
    "exclude",
    "seed",
    "overwrite",
)


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
    parser.add_argument("--catalog", help="catalogue: .csv, .csv.gz or .fits (Hart16 / Willett)")
    parser.add_argument("--mapping", help="gz2_filename_mapping.csv (objid, sample, asset_id)")
    parser.add_argument("--images", help="folder of {asset_id}.jpg")
    parser.add_argument(
        "--sky", help="a mock sky folder: fills --catalog/--mapping/--images/--exclude"
    )
    parser.add_argument("--out", help="output folder (default: <workspace>/datasets/...)")
    parser.add_argument("--min-votes", dest="min_votes", type=int, help="votes per task (20)")
    parser.add_argument(
        "--rule",
        help="flag rule: the paper's (galaxysd, default) or the published GZ2 flags' (willett2013)",
    )
    parser.add_argument(
        "--max-per-tag", dest="max_per_tag", type=int, help="down-sample tags above this (2000)"
    )
    parser.add_argument("--exclude", help="CSV of known D-ETGs to keep out (dr7objid or objid)")
    parser.add_argument("--seed", type=int, help="seed of the down-sampling (0)")
    parser.add_argument(
        "--overwrite", action="store_true", default=None, help="replace a non-empty --out"
    )
    add_config_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from galaxysd_core.gz2.dataset import PrepareConfig, prepare_dataset

    if args.sky and not args.config:
        given = {n: getattr(args, n) for n in _FIELDS if getattr(args, n, None) is not None}
        config = PrepareConfig.from_sky(args.sky, **given)
    else:
        config = config_from_args(PrepareConfig, args, _FIELDS)
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
