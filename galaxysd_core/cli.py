"""The ``galaxysd`` command: argument parsing only.

Each domain registers its sub-commands from its own ``<domain>/cli.py`` (a
``register(subparsers)`` function), which imports heavy libraries inside the
handlers so ``galaxysd --help`` stays fast. A task's options are derived
from its config class (:func:`add_config_arguments`); every task that can run
as a background job also accepts ``--config FILE`` (the JSON its job saved).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from galaxysd_core import __version__
from galaxysd_core.config import FieldSpec, TaskConfig, field_specs
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
    "quiz_pool",  # a module, not a package: it holds its own register()
)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE``: a saved task config; explicit flags override its values."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="JSON task config (as saved in runs/<id>/config.json); flags given too override it",
    )


def add_config_arguments(parser: argparse.ArgumentParser, config_class: type[TaskConfig]) -> None:
    """Add ``--config FILE`` and one option per field of ``config_class``.

    The option of field ``max_per_tag`` is ``--max-per-tag``; a field of a
    nested config is spelled with a dot, ``--classifier.epochs``, and a former
    flat name kept in ``config_class.aliases`` stays as a second spelling
    (``--epochs``). Types, ``Literal`` choices and help text (the field's
    numpydoc description and its default) come from the dataclass, so a new
    field appears here, in the launch form and in the job registry at once.
    Booleans take ``--flag`` / ``--no-flag``; lists take several values;
    dicts take JSON. Every option defaults to ``None`` (not given), so
    :func:`config_from_args` passes only what the user typed.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    config_class : type
        A :class:`~galaxysd_core.config.TaskConfig` subclass.
    """
    add_config_option(parser)
    former = {new: old for old, new in config_class.aliases.items()}
    for spec in field_specs(config_class):
        flags = ["--" + spec.name.replace("_", "-")]
        if spec.name in former:
            flags.append("--" + former[spec.name].replace("_", "-"))
        parser.add_argument(*flags, dest=spec.name, default=None, **_option(spec))


def _option(spec: FieldSpec) -> dict[str, Any]:
    """argparse keywords of one field: action or type, choices, nargs, help."""
    shown = json.dumps(spec.default) if isinstance(spec.default, dict) else spec.default
    if isinstance(shown, tuple | list):
        shown = " ".join(str(v) for v in shown) or "none"
    text = " ".join(spec.help.replace("``", "").split())
    default = "required" if spec.required else "optional" if shown is None else f"default: {shown}"
    help_text = f"{text} ({default})".strip().replace("%", "%%")
    if spec.widget == "bool":
        return {"action": argparse.BooleanOptionalAction, "help": help_text}
    if spec.choices:  # shown, not enforced: validate() names the field and the choices
        return {"metavar": "{" + ",".join(map(str, spec.choices)) + "}", "help": help_text}
    metavar = spec.name.rpartition(".")[2].upper()
    if spec.widget in ("int", "float"):
        kind = {"int": int, "float": float}[spec.widget]
        return {"type": kind, "metavar": metavar, "help": help_text}
    if spec.item is not None:
        return {"nargs": "+", "type": spec.item, "metavar": metavar, "help": help_text}
    if spec.widget == "json":
        return {"type": _json, "metavar": "JSON", "help": help_text}
    return {"metavar": metavar, "help": help_text}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r} ({exc})") from None


def given_values(
    cls: type[TaskConfig], args: argparse.Namespace, names: Iterable[str] | None = None
) -> dict[str, Any]:
    """The fields of ``cls`` given as flags (dotted names for nested fields).

    ``names`` limits the fields read (default: every field of ``cls``).
    """
    names = [s.name for s in field_specs(cls)] if names is None else list(names)
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def config_from_args(
    cls: type[C], args: argparse.Namespace, names: Iterable[str] | None = None
) -> C:
    """Build a task config from ``--config FILE`` and the flags the user gave.

    Parameters
    ----------
    cls : type
        The config class.
    args : argparse.Namespace
        Parsed arguments of a parser set up with :func:`add_config_arguments`.
    names : iterable of str, optional
        The fields to read from ``args`` (default: every field of ``cls``,
        nested ones dotted).

    Returns
    -------
    TaskConfig
        The validated config: the file's values (if ``--config``), overridden
        by every flag given explicitly; fields given neither way take the
        dataclass default.
    """
    given = given_values(cls, args, names)
    if not getattr(args, "config", None):
        return cls.from_dict(given)
    saved = cls.load(args.config)
    return cls.from_dict({**saved.to_dict(), **given}) if given else saved


def add_task_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    config_class: type[TaskConfig],
    run: str | Callable[[argparse.Namespace], int],
    *,
    show: Callable[[Any], Any] = str,
) -> argparse.ArgumentParser:
    """Add a task sub-command derived from ``config_class``: options, help, description.

    The command's one-line help is the summary line of the class docstring and
    its description the paragraphs before ``Attributes`` (one description per
    task, shared with the launch form); the options come from
    :func:`add_config_arguments`.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        Where to add it.
    name : str
        The sub-command word.
    config_class : type
        The task's config class.
    run : str or callable
        ``"module:function"`` of the core function, imported only when the
        command runs (``galaxysd --help`` stays fast); it takes the config and
        a ``progress`` keyword, and ``show`` of its result is printed. Or the
        command's own handler (``args -> exit status``) when it does more.
    show : callable, default str
        Turns what the function returns into what is printed.

    Returns
    -------
    argparse.ArgumentParser
        The sub-command's parser (a caller may add flags).
    """
    summary, _, rest = describe(config_class).partition("\n")
    parser = subparsers.add_parser(name, help=summary, description=f"{summary} {rest}".strip())
    add_config_arguments(parser, config_class)
    if callable(run):
        parser.set_defaults(func=run)
        return parser
    label = parser.prog.partition(" ")[2]  # "demo build": the words after "galaxysd"
    parser.set_defaults(func=functools.partial(_run_task, config_class, run, label, show))
    return parser


def describe(config_class: type[TaskConfig]) -> str:
    """A config class's docstring before its ``Attributes``: summary line, then the rest."""
    text = inspect.cleandoc(config_class.__doc__ or config_class.__name__)
    text = re.split(r"\n(?:Parameters|Attributes)\n-+\n", text, maxsplit=1)[0]
    summary, _, rest = text.replace("``", "").partition("\n")
    return f"{summary.strip()}\n{' '.join(rest.split())}".strip()


def _run_task(
    config_class: type[TaskConfig],
    run: str,
    label: str,
    show: Callable[[Any], Any],
    args: argparse.Namespace,
) -> int:
    module, _, function = run.partition(":")
    task = getattr(importlib.import_module(module), function)
    print(show(run_with_progress(task, config_from_args(config_class, args), label)))
    return 0


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
    from galaxysd_core.progress import progress_for_cli

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
        spec = importlib.util.find_spec(f"galaxysd_core.{domain}")
        name = f"galaxysd_core.{domain}" + (".cli" if spec.submodule_search_locations else "")
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
    from galaxysd_core.progress import REASON_FILE, RUN_DIR_ENV

    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        with contextlib.suppress(OSError):  # a full disk must not hide the first error
            (Path(run_dir) / REASON_FILE).write_text(message + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
