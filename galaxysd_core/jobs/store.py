"""The job table (Alembic revision ``0002_jobs``) and small helpers around it.

One row per run folder ``runs/<id>``; the row id is the folder name. Times are
stored as timezone-aware UTC datetimes (SQLite hands them back naive, so
:func:`as_utc` restores the zone).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from galaxysd_core.atomic import environment_fault
from galaxysd_core.db import database_url, make_engine, migrate
from galaxysd_core.errors import GalaxySDError
from galaxysd_core.paths import Workspace, workspace

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = "succeeded", "failed", "cancelled", "interrupted"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)

metadata = sa.MetaData()
# Mirrors galaxysd_core/migrations/versions/0002_jobs.py (the schema's owner).
jobs_table = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("run_dir", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("heavy", sa.Boolean(), nullable=False),
    sa.Column("num_processes", sa.Integer(), nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer()),
    sa.Column("pid_started", sa.Float()),
    sa.Column("supervisor_pid", sa.Integer()),
    sa.Column("supervisor_started", sa.Float()),
    sa.Column("exit_code", sa.Integer()),
    sa.Column("error", sa.Text()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
)

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


class JobError(GalaxySDError, ValueError):
    """A job id is unknown or a job cannot do what was asked in its state."""


def resolve_workspace(ws: Workspace | str | os.PathLike[str] | None) -> Workspace:
    """Accept a :class:`Workspace`, a folder or ``None`` ($GALAXYSD_HOME)."""
    if isinstance(ws, Workspace):
        return ws
    return workspace(ws)


def engine_for(ws: Workspace) -> sa.Engine:
    """The (cached, migrated) engine of the workspace's database."""
    url = database_url(ws)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            migrate(engine)
            _engines[url] = engine
    return engine


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Give a naive datetime read back from SQLite its UTC zone."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def hostname() -> str:
    """This machine's name, as recorded in the ``host`` column."""
    return socket.gethostname()


def get_row(engine: sa.Engine, job_id: str) -> dict[str, Any]:
    """Return the row of ``job_id`` as a dict.

    Raises
    ------
    JobError
        If there is no such job.
    """
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(jobs_table).where(jobs_table.c.id == job_id)).mappings().first()
        )
    if row is None:
        raise JobError(f"no job with id {job_id!r}")
    out = dict(row)
    for key in ("created_at", "started_at", "ended_at"):
        out[key] = as_utc(out[key])
    return out


def update_row(
    engine: sa.Engine, job_id: str, *, only_if: tuple[str, ...] = (), **values: Any
) -> bool:
    """Set ``values`` on a job, optionally only while its status is in ``only_if``.

    Returns
    -------
    bool
        Whether a row changed (False: the status had moved on meanwhile).
    """
    stmt = sa.update(jobs_table).where(jobs_table.c.id == job_id).values(**values)
    if only_if:
        stmt = stmt.where(jobs_table.c.status.in_(only_if))
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def rows(
    engine: sa.Engine, *, statuses: tuple[str, ...] = (), ws: Workspace | None = None
) -> list[dict[str, Any]]:
    """All rows, oldest first; optionally only some statuses, or one workspace's jobs.

    A PostgreSQL database may serve several workspaces; each has its own queue
    (its own ``runs/`` folder, lock file and K slots).
    """
    stmt = sa.select(jobs_table).order_by(jobs_table.c.created_at, jobs_table.c.id)
    if statuses:
        stmt = stmt.where(jobs_table.c.status.in_(statuses))
    if ws is not None:
        stmt = stmt.where(jobs_table.c.run_dir.startswith(str(ws.runs) + os.sep, autoescape=True))
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(stmt).mappings()]
    for row in found:
        for key in ("created_at", "started_at", "ended_at"):
            row[key] = as_utc(row[key])
    return found


@contextlib.contextmanager
def queue_lock(ws: Workspace) -> Iterator[None]:
    """Serialise queue decisions (claiming slots, reconciling) on this machine.

    Counting the running heavy jobs and claiming a queued one must be one step,
    or two dispatchers (the app and a finishing supervisor) could both fill
    the last slot. A lock file in ``runs/`` does that for every process that
    shares the workspace; jobs are machine-local anyway (pid + host).
    """
    try:
        ws.runs.mkdir(parents=True, exist_ok=True)
        handle = Path(ws.runs / ".queue.lock").open("a")  # noqa: SIM115 - closed by the with below
    except OSError as exc:  # a read-only workspace: one line, not a traceback
        raise environment_fault(exc, ws.runs) from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
