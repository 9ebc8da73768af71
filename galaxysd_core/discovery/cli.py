"""``galaxysd discover round|export|report|simulate-votes``: the D-ETG discovery campaign.

``simulate-votes`` is for benchmarks on a mock sky only: simulated reviewers
answer from the sky's hidden truth. People vote on the Review page.
"""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_task_command
from galaxysd_core.discovery.config import RoundConfig


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``discover`` command and its sub-commands."""
    p = sub.add_parser("discover", help="find rare galaxies round by round (Sec. 4.3)")
    words = p.add_subparsers(dest="discover_command", required=True, metavar="STEP")

    add_task_command(
        words,
        "round",
        RoundConfig,
        "galaxysd_core.discovery.campaign:run_round",
        help="train, score the catalogue, open a review round",
        show=_round_text,
    )

    e = words.add_parser("export", help="write the new-object catalogue (CSV or FITS)")
    e.add_argument("--campaign", required=True)
    e.add_argument("--format", dest="fmt", choices=["csv", "fits"], default="csv")
    e.add_argument("--out", help="file (default: campaigns/<name>/new_detg.<format>)")
    e.set_defaults(func=_export)

    v = words.add_parser(
        "simulate-votes",
        help="BENCHMARK ONLY: simulated reviewers decide the latest round from mock-sky truth",
        description=(
            "Benchmark only, on a mock sky (truth.parquet): a panel of simulated reviewers "
            "votes on the campaign's latest round from the hidden truth, with the given "
            "error rates. Refused on a real catalogue and on a round people have voted in; "
            "real campaigns are reviewed on the Review page."
        ),
    )
    v.add_argument("--campaign", required=True)
    v.add_argument(
        "--false-negative",
        dest="false_negative",
        type=float,
        nargs="+",
        default=[0.1],
        metavar="RATE",
        help="chance of 'no' for a true D-ETG: one rate, or three (one per reviewer; default 0.1)",
    )
    v.add_argument(
        "--false-positive",
        dest="false_positive",
        type=float,
        nargs="+",
        default=[0.05],
        metavar="RATE",
        help="chance of 'yes' for anything else: one rate, or three (default 0.05)",
    )
    v.add_argument("--unsure", type=float, default=0.0, help="chance of an 'unsure' vote")
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(func=_simulate_votes)

    s = words.add_parser("report", help="per-round counts (and truth-scored rates on a mock sky)")
    s.add_argument("--campaign", required=True)
    s.set_defaults(func=_report)


def _round_text(state: dict) -> str:
    return (
        f"round {state['round']}: {state['candidates']} candidates in review round "
        f"{state['review_round_id']} (cut {state['threshold']:.3f})"
    )


def _export(args: argparse.Namespace) -> int:
    from galaxysd_core.discovery.results import export_catalogue
    from galaxysd_core.review import ReviewStore

    path = export_catalogue(args.campaign, ReviewStore(), fmt=args.fmt, path=args.out)
    print(path)
    return 0


def _report(args: argparse.Namespace) -> int:
    from galaxysd_core.discovery.results import round_report
    from galaxysd_core.review import ReviewStore

    print(round_report(args.campaign, ReviewStore()).round(3).to_string(index=False))
    return 0


def _rates(values: list[float], n: int, flag: str) -> tuple[float, ...]:
    from galaxysd_core.errors import ConfigError

    if len(values) == 1:
        return tuple(values) * n
    if len(values) != n:
        raise ConfigError(f"{flag}: give one rate or {n} (one per reviewer), got {len(values)}")
    return tuple(values)


def _simulate_votes(args: argparse.Namespace) -> int:
    from galaxysd_core.discovery.simulated import simulate_votes

    k, table = simulate_votes(
        args.campaign,
        false_negative=_rates(args.false_negative, 3, "--false-negative"),
        false_positive=_rates(args.false_positive, 3, "--false-positive"),
        unsure=args.unsure,
        seed=args.seed,
    )
    accepted = int(table["accepted"].sum())
    print(
        f"round {k}: {int(table['decided'].sum())} of {len(table)} candidates decided by the "
        f"simulated panel, {accepted} accepted"
    )
    return 0
