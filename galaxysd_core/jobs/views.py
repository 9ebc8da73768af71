"""Read-side of the jobs: status, tables, progress events, logs, checkpoints."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from galaxysd_core.errors import GalaxySDError
from galaxysd_core.jobs import runner, store
from galaxysd_core.jobs.registry import job_kind
from galaxysd_core.paths import Workspace
from galaxysd_core.progress import PROGRESS_FILE, STOP_FILE, read_events

WorkspaceLike = Workspace | str | os.PathLike[str] | None
PROGRESS_KEYS = ("step", "total", "loss", "eta", "elapsed", "message", "images")
_TAIL_BYTES = 256 * 1024


def last_events(run_dir: str | os.PathLike[str], *, max_bytes: int = _TAIL_BYTES) -> list[dict]:
    """The progress events in the last ``max_bytes`` of ``progress.jsonl`` (cheap on long runs)."""
    path = Path(run_dir) / PROGRESS_FILE
    if not path.exists():
        return []
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - max_bytes))
        chunk = handle.read().decode("utf-8", errors="replace")
    lines = chunk.splitlines()
    if size > max_bytes:
        lines = lines[1:]  # the first line is cut
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return events


def _progress_summary(run_dir: str, *, max_bytes: int = _TAIL_BYTES) -> dict[str, Any]:
    events = last_events(run_dir, max_bytes=max_bytes)
    summary: dict[str, Any] = dict.fromkeys(PROGRESS_KEYS)
    summary["images"] = []
    if events:
        last = events[-1]
        summary.update({k: last.get(k) for k in PROGRESS_KEYS if k != "images"})
        for event in reversed(events):  # the latest loss, message, images
            for key in ("loss", "message"):
                if summary[key] is None and event.get(key) is not None:
                    summary[key] = event[key]
            if not summary["images"] and event.get("images"):
                # Relative image paths are relative to the run folder.
                summary["images"] = [str(Path(run_dir) / p) for p in event["images"]]
    return summary


def status(job_id: str, *, workspace: WorkspaceLike = None) -> dict[str, Any]:
    """A job's database row merged with its last progress event.

    Returns
    -------
    dict
        ``id, kind, status, run_dir, pid, host, exit_code, error, heavy,
        num_processes, created_at, started_at, ended_at`` (ISO strings), and
        ``step, total, loss, eta, elapsed, message, images`` (``None`` / ``[]``
        before the first event; ``eta`` ``None`` once ended), ``fraction``
        (0-1 or ``None``), ``queue_position`` (1 = next to start; ``None``
        unless queued), ``stopping`` (a stop was requested and the process has
        not ended yet), ``can_resume`` (see :func:`can_resume`) and ``reason``
        (one line saying why a failed, cancelled or interrupted job ended;
        ``None`` otherwise).

    Raises
    ------
    JobError
        If there is no such job.
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    row = store.get_row(engine, job_id)
    live = row["host"] != store.hostname() or runner.job_alive(row)
    if row["status"] == store.RUNNING and not live:
        runner.reconcile(ws)
        row = store.get_row(engine, job_id)
    out: dict[str, Any] = {k: v for k, v in row.items() if not k.endswith("_started")}
    for key in ("created_at", "started_at", "ended_at"):
        out[key] = row[key].isoformat() if row[key] is not None else None
    out.update(_progress_summary(row["run_dir"]))
    step, total = out["step"], out["total"]
    out["fraction"] = min(1.0, step / total) if step is not None and total else None
    if row["status"] not in store.ACTIVE:
        out["eta"] = None  # the last event's time-left is stale once the job ended
    out["stopping"] = row["status"] == store.RUNNING and (Path(row["run_dir"]) / STOP_FILE).exists()
    out["can_resume"] = can_resume(row)
    out["reason"] = end_reason(row)
    out["queue_position"] = None
    if row["status"] == store.QUEUED:
        queued = [r["id"] for r in store.rows(engine, statuses=(store.QUEUED,), ws=ws)]
        out["queue_position"] = queued.index(job_id) + 1 if job_id in queued else None
    return out


def list_jobs(workspace: WorkspaceLike = None) -> pd.DataFrame:
    """Every job, newest first, with its progress.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, kind, status, step, total, loss, created_at, started_at,
        ended_at, exit_code, error, run_dir`` (times as UTC timestamps;
        ``error`` is a failed job's one-line reason).
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    records = []
    for row in reversed(store.rows(engine, ws=ws)):
        summary = _progress_summary(row["run_dir"], max_bytes=16 * 1024)
        records.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "status": row["status"],
                "step": summary["step"],
                "total": summary["total"],
                "loss": summary["loss"],
                "created_at": row["created_at"],
                "started_at": row["started_at"],
                "ended_at": row["ended_at"],
                "exit_code": row["exit_code"],
                "error": row["error"],
                "run_dir": row["run_dir"],
            }
        )
    columns = ["id", "kind", "status", "step", "total", "loss", "created_at", "started_at"]
    columns += ["ended_at", "exit_code", "error", "run_dir"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for key in ("created_at", "started_at", "ended_at"):
        frame[key] = pd.to_datetime(frame[key], utc=True)
    return frame


def events(job_id: str, *, workspace: WorkspaceLike = None) -> pd.DataFrame:
    """All progress events of a job (one row each), e.g. for a loss curve."""
    row = store.get_row(store.engine_for(store.resolve_workspace(workspace)), job_id)
    return pd.DataFrame.from_records(read_events(row["run_dir"]))


def tail_log(job_id: str, n: int = 50, *, workspace: WorkspaceLike = None) -> str:
    """The last ``n`` lines of a job's ``log.txt`` (task output and supervisor notes)."""
    if n < 1:
        raise store.JobError(f"n must be >= 1, got {n}")
    row = store.get_row(store.engine_for(store.resolve_workspace(workspace)), job_id)
    return "\n".join(_tail_lines(Path(row["run_dir"]) / runner.LOG_FILE, n))


def checkpoints(job_id: str, *, workspace: WorkspaceLike = None) -> list[Path]:
    """A job's ``checkpoint-N`` folders (in ``checkpoints/`` or the run folder), by step."""
    row = store.get_row(store.engine_for(store.resolve_workspace(workspace)), job_id)
    run_dir = Path(row["run_dir"])
    found = [p for p in (*run_dir.glob("checkpoint-*"), *run_dir.glob("checkpoints/checkpoint-*"))]
    pattern = re.compile(r"checkpoint-(\d+)$")
    steps = [(int(m.group(1)), p) for p in found if p.is_dir() and (m := pattern.search(p.name))]
    return [p for _, p in sorted(steps)]


def queue_state(workspace: WorkspaceLike = None) -> dict[str, int | bool]:
    """How full the queue is.

    Returns
    -------
    dict
        ``running_heavy``, ``max_heavy`` (K), ``queued`` and ``full`` (a new
        heavy job would wait).
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    running = store.rows(engine, statuses=(store.RUNNING,), ws=ws)
    heavy = sum(1 for r in running if r["heavy"])
    limit = runner.max_heavy_jobs()
    queued = len(store.rows(engine, statuses=(store.QUEUED,), ws=ws))
    return {"running_heavy": heavy, "max_heavy": limit, "queued": queued, "full": heavy >= limit}


def can_resume(row: dict[str, Any]) -> bool:
    """Whether resuming a job can continue its work rather than repeat a failure.

    True for an interrupted job (killed, crashed machine) and a cancelled one
    that left a checkpoint, when its kind has a ``resume`` field. A failed job
    is not offered: it failed on its input or its code, and would fail again.
    """
    if row["status"] not in (store.INTERRUPTED, store.CANCELLED):
        return False
    try:
        fields = job_kind(row["kind"]).load_config_class().__dataclass_fields__
    except GalaxySDError:  # an unknown or unavailable kind cannot resume
        return False
    if "resume" not in fields:
        return False
    run_dir = Path(row["run_dir"])
    saved = [*run_dir.glob("checkpoint-*"), *run_dir.glob("checkpoints/checkpoint-*")]
    return row["status"] == store.INTERRUPTED or any(p.is_dir() for p in saved)


# The CLI's one-line error, and the last line of a Python traceback.
_ERROR_LINE = re.compile(r"^galaxysd: error: (?P<msg>.+)$")
_EXCEPTION_LINE = re.compile(
    r"^(?:[\w.]+\.)?(?P<name>\w*(?:Error|Exception|Interrupt))(?::\s*(?P<msg>.*))?$"
)


def end_reason(row: dict[str, Any]) -> str | None:
    """One line saying why a job ended badly (``None`` while active or after success).

    The recorded ``error`` when there is one; else, for a failed job, the last
    ``galaxysd: error:`` line of its log, or the last exception line of a
    traceback; else what its status means.
    """
    status = row["status"]
    if status in (*store.ACTIVE, store.SUCCEEDED):
        return None
    if row.get("error"):
        return str(row["error"]).strip().splitlines()[-1]
    if status == store.CANCELLED:
        return "cancelled on request"
    if status == store.INTERRUPTED:
        return "interrupted: its processes were gone"
    path = Path(row["run_dir"]) / runner.LOG_FILE
    lines = _tail_lines(path, 200)
    for line in reversed(lines):
        if match := _ERROR_LINE.match(line.strip()):
            return match["msg"]
    for line in reversed(lines):
        if match := _EXCEPTION_LINE.match(line.strip()):
            return f"{match['name']}: {match['msg']}" if match["msg"] else match["name"]
    code = row.get("exit_code")
    return f"exited with code {code}" if code is not None else "failed"


def _tail_lines(path: Path, n: int) -> list[str]:
    """The last ``n`` lines of a log; tqdm redraws (carriage returns) keep their last state."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 200 * n - 4096))
        text = handle.read().decode("utf-8", errors="replace")
    return [line.rsplit("\r", 1)[-1] for line in text.splitlines()][-n:]
