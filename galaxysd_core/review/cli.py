"""``galaxysd review ...``: reviewers, rounds, summaries and exports from the shell.

These commands are the trusted local path (see :mod:`galaxysd_core.review.store`):
they act with the database credentials, without a reviewer session.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import sys

from galaxysd_core.review.errors import ReviewValueError


def _store(args: argparse.Namespace):
    from galaxysd_core.review.store import ReviewStore

    return ReviewStore(args.db)


def _passphrase(args: argparse.Namespace) -> str:
    if args.passphrase_stdin:
        phrase = sys.stdin.readline().rstrip("\r\n")
    else:
        phrase = getpass.getpass(f"passphrase for {args.name}: ")
        if getpass.getpass("again: ") != phrase:
            raise ReviewValueError("the two passphrases differ")
    if not phrase:
        raise ReviewValueError("the passphrase must not be empty")
    return phrase


def _add_reviewer(args: argparse.Namespace) -> int:
    phrase = _passphrase(args)
    _store(args).add_reviewer(args.name, phrase, role=args.role)
    print(f"added {args.role} {args.name}")
    return 0


def _open_round(args: argparse.Namespace) -> int:
    from galaxysd_core.review.checks import read_candidates

    table = read_candidates(args.candidates)
    round_id = _store(args).open_round(
        args.campaign, table, panel_size=args.panel_size, quorum=args.quorum
    )
    print(f"opened round {round_id} of {args.campaign} with {len(table)} candidates")
    return 0


def _close_round(args: argparse.Namespace) -> int:
    _store(args).close_round(args.round)
    print(f"closed round {args.round}")
    return 0


def _export(args: argparse.Namespace) -> int:
    path = _store(args).export_decisions(args.round, args.out, fmt=args.format)
    print(f"wrote {path}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    summary = _store(args).summary(args.round)
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}
    print(json.dumps(clean, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``galaxysd review`` and its sub-commands."""
    review = subparsers.add_parser("review", help="reviewer voting: reviewers, rounds, exports")
    review.add_argument("--db", help="database URL (default: $GALAXYSD_DB_URL or the workspace)")
    sub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    p = sub.add_parser("add-reviewer", help="create a reviewer (passphrase prompted)")
    p.add_argument("name")
    p.add_argument("--role", choices=("reviewer", "admin"), default="reviewer")
    p.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from stdin's first line",
    )
    p.set_defaults(func=_add_reviewer)

    p = sub.add_parser("open-round", help="open the next round of a campaign from a CSV")
    p.add_argument("--campaign", required=True)
    p.add_argument("--candidates", required=True, help="CSV: object_id, image[, score, ra, dec]")
    p.add_argument("--panel-size", type=int, dest="panel_size")
    p.add_argument("--quorum", type=int)
    p.set_defaults(func=_open_round)

    for name, text, func in (
        ("close-round", "close a round (its votes become final)", _close_round),
        ("export", "write a round's decisions", _export),
        ("summary", "a round's counts, kappa and alpha as JSON", _summary),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--round", type=int, required=True)
        if name == "export":
            p.add_argument("--format", choices=("csv", "fits"), help="default: from --out")
            p.add_argument("--out", required=True)
        p.set_defaults(func=func)
