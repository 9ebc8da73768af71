"""Progress reporting and stop requests for long tasks.

Long loops in the core take a :class:`Progress` and call ``progress.update(...)``
once per step and ``progress.check_stop()`` where stopping is safe. They know
nothing of the UI: the CLI passes a tqdm bar, a background job passes a
:class:`JsonlProgress` that appends events to ``runs/<id>/progress.jsonl`` (read
by the app) and watches the run's ``STOP`` file (written by ``jobs.cancel``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from galaxysd_core.errors import Cancelled

RUN_DIR_ENV = "GALAXYSD_RUN_DIR"
#: A failed job's one-line reason, written into its run folder by the CLI.
REASON_FILE = "error.txt"
STOP_FILE = "STOP"
PROGRESS_FILE = "progress.jsonl"


class Progress:
    """Reporter interface; this base reports nothing and never stops."""

    def update(self, step: int, total: int, **logs: Any) -> None:
        """Report that ``step`` of ``total`` is done, with optional logs.

        Parameters
        ----------
        step, total : int
            Work done and work in all, in the task's own unit.
        **logs
            JSON-safe extras: ``loss``, ``message``, ``images`` (list of paths), ...
        """

    def should_stop(self) -> bool:
        """Whether a stop was requested."""
        return False

    def check_stop(self) -> None:
        """Raise :class:`~galaxysd_core.errors.Cancelled` if a stop was requested."""
        if self.should_stop():
            raise Cancelled("stop requested")

    def close(self) -> None:
        """Release resources (a progress bar)."""


class TqdmProgress(Progress):
    """A tqdm bar on stderr, for the CLI."""

    def __init__(self, desc: str) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(desc=desc, total=0, dynamic_ncols=True)

    def update(self, step: int, total: int, **logs: Any) -> None:
        if self._bar.total != total:
            self._bar.reset(total=total)
        self._bar.n = step
        shown = {
            k: v for k, v in logs.items() if isinstance(v, int | float | str) and k != "message"
        }
        if shown:
            self._bar.set_postfix(shown, refresh=False)
        if "message" in logs:
            self._bar.set_description_str(str(logs["message"]), refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class JsonlProgress(Progress):
    """Append progress events to ``<run_dir>/progress.jsonl``; stop on ``STOP``.

    Events are throttled to one per ``min_interval`` seconds (the first, the
    last and any with images or a message always go through) so a fast loop
    does not flood the file.
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, min_interval: float = 0.5) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.run_dir / PROGRESS_FILE
        self._min_interval = min_interval
        self._t0 = time.monotonic()
        self._last = -1e9

    def update(self, step: int, total: int, **logs: Any) -> None:
        now = time.monotonic()
        important = step == total or step <= 1 or "images" in logs or "message" in logs
        if not important and now - self._last < self._min_interval:
            return
        self._last = now
        elapsed = now - self._t0
        eta = elapsed / step * (total - step) if step > 0 and total >= step else None
        event = {"time": time.time(), "step": step, "total": total, "elapsed": elapsed, "eta": eta}
        event.update(logs)
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, default=str) + "\n")

    def should_stop(self) -> bool:
        return (self.run_dir / STOP_FILE).exists()


def progress_for_cli(desc: str) -> Progress:
    """The reporter a CLI command should use.

    Inside a background job (``GALAXYSD_RUN_DIR`` set by the launcher) this is a
    :class:`JsonlProgress` on the run folder; in a terminal, a tqdm bar.
    """
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        return JsonlProgress(run_dir)
    return TqdmProgress(desc)


def run_folder(output_dir: str | os.PathLike[str] | None) -> Path | None:
    """A task's output folder: ``output_dir`` if given, else the job's run folder.

    Returns ``None`` outside a job when no folder is given; the task then
    picks its own default or asks for one.
    """
    if output_dir:
        return Path(output_dir)
    run_dir = os.environ.get(RUN_DIR_ENV)
    return Path(run_dir) if run_dir else None


def read_events(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read every progress event of a run, skipping a torn last line."""
    path = Path(run_dir) / PROGRESS_FILE
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return events
