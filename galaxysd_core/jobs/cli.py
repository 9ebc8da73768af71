"""``galaxysd jobs ...``: launch, watch, cancel and resume background jobs from a terminal."""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable

from galaxysd_core import jobs  # lazy: SQLAlchemy and pandas load on first use


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``jobs`` command and its sub-commands to the hub."""
    parser = subparsers.add_parser("jobs", help="background jobs: launch, list, cancel, resume")
    sub = parser.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")

    p = sub.add_parser("launch", help="queue a job from a JSON config file")
    p.add_argument("kind", help="job kind (sky, finetune, ...)")
    p.add_argument("--config", required=True, help="JSON file with the task's settings")
    p.set_defaults(func=_launch)

    for name, text, show in (
        ("list", "all jobs, newest first", _list),
        ("status", "a job's state and last progress (JSON)", _status),
        ("cancel", "stop a job (STOP file, then SIGTERM, then SIGKILL)", _cancel),
        ("resume", "continue an ended job from its latest checkpoint", _resume),
        ("log", "the end of a job's log", _log),
        ("reconcile", "mark jobs whose processes are gone as interrupted", _reconcile),
    ):
        p = sub.add_parser(name, help=text)
        if name not in ("list", "reconcile"):
            p.add_argument("job_id")
        if name == "cancel":
            p.add_argument("--wait", action="store_true", help="block until it has ended")
        if name == "log":
            p.add_argument("-n", type=int, default=50, help="number of lines (default 50)")
        p.set_defaults(func=functools.partial(_print, show))

    c = subparsers.add_parser(
        "clean",
        help="list and remove leftovers of killed tasks (.NAME.*.tmp) in the workspace",
        description="Temporaries of atomic writes whose writer is gone (killed, crashed). "
        "Those of running tasks are kept.",
    )
    c.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    c.set_defaults(func=_clean)


def _print(show: Callable[[argparse.Namespace], str], args: argparse.Namespace) -> int:
    text = show(args)
    if text:
        print(text)
    return 0


def _launch(args: argparse.Namespace) -> int:
    from galaxysd_core.jobs.registry import job_kind

    config = job_kind(args.kind).load_config_class().load(args.config)  # names a bad file
    print(jobs.launch(args.kind, config))
    return 0


def _list(args: argparse.Namespace) -> str:
    frame = jobs.list_jobs()
    return frame.drop(columns=["run_dir"]).to_string(index=False) if len(frame) else "no jobs"


def _status(args: argparse.Namespace) -> str:
    return json.dumps(jobs.status(args.job_id), indent=2, default=str)


def _cancel(args: argparse.Namespace) -> str:
    return str(jobs.cancel(args.job_id, wait=args.wait))


def _resume(args: argparse.Namespace) -> str:
    return str(jobs.resume(args.job_id))


def _log(args: argparse.Namespace) -> str:
    return jobs.tail_log(args.job_id, args.n)


def _reconcile(args: argparse.Namespace) -> str:
    return "\n".join(f"{job_id} interrupted" for job_id in jobs.reconcile())


def _clean(args: argparse.Namespace) -> int:
    from galaxysd_core.atomic import clean
    from galaxysd_core.paths import workspace

    root = workspace().root
    found = clean(root, dry_run=args.dry_run) if root.is_dir() else []
    verb = "would remove" if args.dry_run else "removed"
    for path, size in found:
        print(f"{verb} {path} ({size / 1e6:.1f} MB)")
    total = sum(size for _, size in found) / 1e6
    print(f"{verb} {len(found)} leftover(s), {total:.1f} MB" if found else "nothing to clean")
    return 0
