"""The ``galaxysd`` command: argument parsing only.

Each domain registers its sub-commands from its own ``<domain>/cli.py`` (a
``register(subparsers)`` function), which imports heavy libraries inside the
handlers so ``galaxysd --help`` stays fast. Every task that can run as a
background job also accepts ``--config FILE`` (the JSON its job saved).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from galaxysd_core import __version__
from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import Cancelled, GalaxySDError

C = TypeVar("C", bound=TaskConfig)
R = TypeVar("R")

DOMAINS = (
    "sky",
    "gz2",
    "diffusion",
    "embedding",
    "metrics",
    "classify",
    "discovery",
    "review",
    "jobs",
)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE``: a saved task config that replaces the other flags."""
    parser.add_argument("--config", help="JSON task config (as saved in runs/<id>/config.json)")


def config_from_args(cls: type[C], args: argparse.Namespace, names: Iterable[str]) -> C:
    """Build a task config from ``--config FILE`` or from the named flags.

    Flags left at ``None`` take the dataclass default.
    """
    if getattr(args, "config", None):
        return cls.load(args.config)
    values = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return cls.from_dict(values)


def run_with_progress(task: Callable[..., R], subject: Any, desc: str, **kwargs: Any) -> R:
    """Run ``task(subject, **kwargs, progress=...)`` with the CLI's reporter, closed after.

    Parameters
    ----------
    task : callable
        The core function; it takes its subject (usually a task config)
        first and a ``progress`` keyword.
    subject : object
        The first argument of ``task``.
    desc : str
        Label of the progress bar.
    **kwargs
        Further keyword arguments of ``task``.

    Returns
    -------
    object
        What ``task`` returns.

    Notes
    -----
    The reporter is a tqdm bar in a terminal, ``progress.jsonl`` (and the
    ``STOP`` file) inside a job; it is closed even when ``task`` raises.
    """
    from galaxysd_core.jobs.progress import progress_for_cli

    progress = progress_for_cli(desc)
    try:
        return task(subject, **kwargs, progress=progress)
    finally:
        progress.close()


def build_parser() -> argparse.ArgumentParser:
    """Return the full ``galaxysd`` parser with every domain's sub-commands."""
    parser = argparse.ArgumentParser(
        prog="galaxysd", description="GalaxySD Studio: make, measure and use synthetic galaxies."
    )
    parser.add_argument("--version", action="version", version=f"galaxysd {__version__}")
    parser.add_argument(
        "--workspace", help="workspace folder (default: $GALAXYSD_HOME or ./workspace)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for domain in DOMAINS:
        name = f"galaxysd_core.{domain}.cli"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no per-revision chatter
    if args.workspace:
        os.environ["GALAXYSD_HOME"] = args.workspace
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("galaxysd: cancelled", file=sys.stderr)
        return 130
    except GalaxySDError as exc:
        print(f"galaxysd: error: {exc}", file=sys.stderr)
        _record_reason(str(exc))
        return 2
    except OSError as exc:  # a full disk or read-only folder met outside the atomic writers
        from galaxysd_core.atomic import environment_fault

        fault = environment_fault(exc, exc.filename or os.getcwd())
        if fault is exc:
            raise
        print(f"galaxysd: error: {fault}", file=sys.stderr)
        _record_reason(str(fault))
        return 2


def _record_reason(message: str) -> None:
    """Inside a job, keep the one-line reason of a failure for the job table (``error.txt``)."""
    from galaxysd_core.jobs.progress import REASON_FILE, RUN_DIR_ENV

    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        with contextlib.suppress(OSError):  # a full disk must not hide the first error
            (Path(run_dir) / REASON_FILE).write_text(message + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
