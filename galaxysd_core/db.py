"""The project's database: one engine factory and schema migrations.

SQLite in the workspace by default (WAL journal and a busy timeout so the app,
background jobs and reviewers can write at once); PostgreSQL, or any SQLAlchemy
URL, when ``GALAXYSD_DB_URL`` is set. The schema is owned by Alembic revisions in
``galaxysd_core/migrations/versions``; each domain (review, jobs) has its own
branch, so :func:`migrate` upgrades to all heads.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from galaxysd_core.paths import Workspace, workspace

DB_URL_ENV = "GALAXYSD_DB_URL"
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

    Parameters
    ----------
    url : str
        SQLAlchemy URL; ``postgresql://`` is routed to the psycopg 3 driver.

    Returns
    -------
    sqlalchemy.Engine
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no branch - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: sa.Engine) -> None:
    """Upgrade the database behind ``engine`` to every Alembic head."""
    # Alembic logs a line per revision at INFO; users of the CLI need not see it.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _migrate_lock, engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
