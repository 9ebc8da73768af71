"""The project's database: one engine factory and schema migrations.

SQLite in the workspace by default (WAL journal and a busy timeout so the app,
background jobs and reviewers can write at once); PostgreSQL, or any SQLAlchemy
URL, when ``GALAXYSD_DB_URL`` is set. The schema is owned by Alembic revisions in
``galaxysd_core/migrations/versions``; each domain (review, jobs) has its own
branch, so :func:`migrate` upgrades to all heads.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from galaxysd_core.errors import EnvironmentFaultError
from galaxysd_core.paths import Workspace, workspace

DB_URL_ENV = "GALAXYSD_DB_URL"
#: How long an SQLite connection waits for a lock (the busy timeout, and the
#: retry deadline of :func:`write_transaction`).
SQLITE_WAIT_S = 30.0
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_migrate_lock = threading.Lock()


def database_url(ws: Workspace | None = None) -> str:
    """Return ``$GALAXYSD_DB_URL`` or the SQLite file of the workspace."""
    url = os.environ.get(DB_URL_ENV)
    if url:
        return url
    ws = ws or workspace()
    ws.root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{ws.database}"


def make_engine(url: str) -> sa.Engine:
    """Create an engine with the project's connection settings.

    An SQLite file in a read-only folder is opened read-only (reading the
    review store and the job table still works); a full disk or a read-only
    database turns into one :class:`~galaxysd_core.errors.EnvironmentFaultError`
    naming the file.

    Parameters
    ----------
    url : str
        SQLAlchemy URL; ``postgresql://`` is routed to the psycopg 3 driver.

    Returns
    -------
    sqlalchemy.Engine

    Raises
    ------
    EnvironmentFaultError
        If an SQLite file's folder does not exist.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    path = sa.make_url(url).database
    read_only = False
    if path and path != ":memory:" and not path.startswith("file:"):
        folder = Path(path).expanduser().absolute().parent
        if not folder.is_dir():
            raise EnvironmentFaultError(
                f"the database folder {folder} does not exist (database {path}): "
                f"create it or fix {DB_URL_ENV}"
            )
        read_only = Path(path).is_file() and not os.access(folder, os.W_OK)
        if read_only:
            # WAL readers need a -shm file they cannot create here: with no
            # pending WAL the file is read as immutable, else in read-only mode.
            wal = Path(f"{path}-wal")
            mode = "mode=ro" if wal.is_file() and wal.stat().st_size else "immutable=1"
            url = f"sqlite:///file:{Path(path).absolute()}?{mode}&uri=true"
    engine = sa.create_engine(
        url, connect_args={"timeout": SQLITE_WAIT_S, "check_same_thread": False}
    )

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no branch - trivial
        cursor = dbapi_conn.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_WAIT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "handle_error")
    def _environment_faults(context):  # pragma: no branch - trivial
        message = str(context.original_exception)
        if "disk is full" in message:
            raise EnvironmentFaultError(
                f"no space left for the database {path}: free some space and try again "
                "(the change was not saved)"
            ) from context.original_exception
        if "readonly database" in message or "unable to open database file" in message:
            raise EnvironmentFaultError(
                f"cannot write the database {path}: its folder is read-only or not yours "
                "(reading still works)"
            ) from context.original_exception

    engine.galaxysd_read_only = read_only  # type: ignore[attr-defined]  # see migrate
    return engine


@contextlib.contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction; on an SQLite file, writers queue on a lock file first.

    SQLite's own busy handler sleeps 1, 2, 5, ... up to 100 ms between tries
    and favours no one, so with four writers a vote sometimes waited seconds
    (p99 0.04-0.7 s, max 4-7 s in ``benchmarks/votes.py``); polling faster only
    burns the CPU the lock holder needs. Here each writer first blocks on an
    ``flock`` of ``<database>-writers.lock``, which the kernel hands on as soon
    as it is released, then takes the database's write lock with
    ``BEGIN IMMEDIATE`` (the busy timeout still covers writers that do not
    queue, e.g. migrations). Other databases get a plain transaction.

    Yields
    ------
    sqlalchemy.Connection
        Inside the transaction; committed on exit, rolled back on an exception.
    """
    with _writer_queue(engine), engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


@contextlib.contextmanager
def _writer_queue(engine: sa.Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        fd = os.open(f"{database}-writers.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # a read-only folder: no queue, SQLite's busy timeout alone
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _check_read_only_schema(engine: sa.Engine, cfg: AlembicConfig) -> None:
    """A read-only database is used as it is, if its schema is already current."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != set(ScriptDirectory.from_config(cfg).get_heads()):
        raise EnvironmentFaultError(
            f"the database {engine.url.database} is read-only and needs an upgrade: "
            "open it once where it is writable"
        )


def migrate(engine: sa.Engine) -> None:
    """Upgrade the database behind ``engine`` to every Alembic head."""
    # Alembic logs a line per revision at INFO; users of the CLI need not see it.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if getattr(engine, "galaxysd_read_only", False):
        _check_read_only_schema(engine, cfg)
        return
    with _migrate_lock, engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
