"""``galaxysd discover round|export|report|simulate-votes|score``: the D-ETG discovery campaign.

``simulate-votes`` is for benchmarks on a mock sky only: simulated reviewers
answer from the sky's hidden truth. People vote on the Review page.
"""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.discovery.config import RoundConfig, SimulateVotesConfig


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``discover`` command and its sub-commands."""
    p = sub.add_parser("discover", help="find rare galaxies round by round (Sec. 4.3)")
    words = p.add_subparsers(dest="discover_command", required=True, metavar="STEP")

    run_round = "galaxysd_core.discovery.campaign:run_round"
    add_task_command(words, "round", RoundConfig, run_round, show=_round_text)

    e = words.add_parser("export", help="write the new-object catalogue (CSV or FITS)")
    e.add_argument("--campaign", required=True)
    e.add_argument("--format", dest="fmt", choices=["csv", "fits"], default="csv")
    e.add_argument("--out", help="file (default: campaigns/<name>/new_detg.<format>)")
    e.set_defaults(func=_export)

    simulate = "galaxysd_core.discovery.simulated:simulate_round"
    add_task_command(words, "simulate-votes", SimulateVotesConfig, simulate, show=_votes_text)

    r = words.add_parser("report", help="per-round counts (and truth-scored rates on a mock sky)")
    r.add_argument("--campaign", required=True)
    r.set_defaults(func=_report)

    # One process of a several-process scoring (a round with score_processes > 1
    # starts them under torchrun); scoring.score_distributed joins the group.
    s = words.add_parser("score", help="score a catalogue chunk by chunk (one of N processes)")
    s.add_argument("classifier", help="classifier folder")
    s.add_argument("items", help="parquet of object_id, path")
    s.add_argument("out", help="scores folder")
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--chunk-size", type=int, default=4096)
    s.set_defaults(func=_score)


def _round_text(state: dict) -> str:
    return (
        f"round {state['round']}: {state['candidates']} candidates in review round "
        f"{state['review_round_id']} (cut {state['threshold']:.3f})"
    )


def _export(args: argparse.Namespace) -> int:
    from galaxysd_core.discovery.results import export_catalogue
    from galaxysd_core.review import ReviewStore

    print(export_catalogue(args.campaign, ReviewStore(), fmt=args.fmt, path=args.out))
    return 0


def _report(args: argparse.Namespace) -> int:
    from galaxysd_core.discovery.results import round_report
    from galaxysd_core.review import ReviewStore

    print(round_report(args.campaign, ReviewStore()).round(3).to_string(index=False))
    return 0


def _votes_text(result: tuple) -> str:
    k, table = result
    decided, accepted = int(table["decided"].sum()), int(table["accepted"].sum())
    text = f"{decided} of {len(table)} candidates decided by the simulated panel"
    return f"round {k}: {text}, {accepted} accepted"


def _score(args: argparse.Namespace) -> int:
    import pandas as pd

    from galaxysd_core.discovery.scoring import score_distributed

    items = pd.read_parquet(args.items)
    score_distributed(
        args.classifier, items, args.out, batch_size=args.batch_size, chunk_size=args.chunk_size
    )
    return 0
