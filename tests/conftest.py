"""Shared fixtures: an isolated workspace, the real reference data, a small mock sky,
and a real PostgreSQL URL when CI provides one."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from galaxysd_core.paths import SHARED_REFERENCE

# Keep torch and BLAS to the 2 cores CI has, whatever the test imports first.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A fresh workspace in a temporary folder, set as ``GALAXYSD_HOME``."""
    from galaxysd_core.paths import workspace

    root = tmp_path / "ws"
    monkeypatch.setenv("GALAXYSD_HOME", str(root))
    monkeypatch.delenv("GALAXYSD_DB_URL", raising=False)
    return workspace(root).ensure()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The read-only real data beside the checkout (``../shared/reference``)."""
    if not SHARED_REFERENCE.exists():
        pytest.skip(f"reference data not found at {SHARED_REFERENCE}")
    return SHARED_REFERENCE


@pytest.fixture(scope="session")
def mock_sky(tmp_path_factory) -> Path:
    """A 400-galaxy, 64x64 mock sky, built once per test session (seed 0)."""
    from galaxysd_core.sky import SkyConfig, build_sky

    out = tmp_path_factory.mktemp("sky") / "sky"
    return build_sky(SkyConfig(n=400, size=64, seed=0, out=out))


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL URL from ``GALAXYSD_TEST_PG_URL`` (set by .ci/run); skip without one."""
    url = os.environ.get("GALAXYSD_TEST_PG_URL")
    if not url:
        pytest.skip("GALAXYSD_TEST_PG_URL not set (CI starts a PostgreSQL server)")
    return url


#: Three sweep settings of prompt B, each distinct from Compose's defaults (guidance 7, strength
#: 0.6, 25 steps); the last one is dominated, so the front line joins the first two.
SWEEP = [
    {"guidance": 3.0, "strength": 0.45, "steps": 12, "weight": 1.0, "realism": 0.80, "diversity": 0.30},
    {"guidance": 9.5, "strength": 0.85, "steps": 40, "weight": 1.5, "realism": 0.90, "diversity": 0.50},
    {"guidance": 5.0, "strength": 0.7, "steps": 20, "weight": 1.0, "realism": 0.70, "diversity": 0.60},
]  # fmt: skip


@pytest.fixture(scope="session")
def evaluated_ws(tmp_path_factory, mock_sky):
    """A workspace with the mock sky as its default sky and a small evaluation in ``runs/eval-1``.

    Hand-made, in seconds: three sweep points of prompt B (``SWEEP``, each with
    its own settings and thumbnail) in ``pareto.parquet``, a ``metrics.parquet``,
    and a PCA map of 30 real and 6 "generated" galaxies (mock-sky images)
    computed by the ``map`` job's entry point with the demo encoder.
    """
    import numpy as np
    import pandas as pd

    from galaxysd_core.embedding import MapConfig
    from galaxysd_core.embedding.map import compute_map
    from galaxysd_core.metrics.evaluate import METRIC_COLUMNS, mark_fronts, prompt_text
    from galaxysd_core.paths import workspace

    root = tmp_path_factory.mktemp("pareto") / "ws"
    ws = workspace(root).ensure()
    shutil.copytree(mock_sky, ws.sky / "default")
    out = ws.runs / "eval-1"
    out.mkdir(parents=True)
    images = sorted((ws.sky / "default" / "images").glob("*.jpg"))
    points = pd.DataFrame(SWEEP).assign(
        prompt="B", scheduler="euler_a", consistency=0.5,
        prompt_text=[prompt_text("B", weight=p["weight"]) for p in SWEEP],
        thumbnail=[str(p) for p in images[: len(SWEEP)]],
    )  # fmt: skip
    mark_fronts(points).to_parquet(out / "pareto.parquet", index=False)
    scores = dict(zip(METRIC_COLUMNS, np.linspace(0.1, 0.9, len(METRIC_COLUMNS)), strict=True))
    metrics = pd.DataFrame(
        {"checkpoint": c, "step": s, "prompt": p, "mode": m, **scores}
        for c, s, m in [("real", None, "real-vs-real"), ("model", 0, "text")]
        for p in ("B", "ALL")
    )
    metrics.to_parquet(out / "metrics.parquet", index=False)
    generated = images[100:106]
    pd.DataFrame(
        {"path": [str(p) for p in generated], "prompt": "B", "mode": "text", "checkpoint": "model"}
    ).to_parquet(out / "images.parquet", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALAXYSD_HOME", str(root))
        compute_map(MapConfig(real=ws.sky / "default", run=out, method="pca", max_real=30))
    return ws, out


@contextlib.contextmanager
def fresh_database(request, folder: Path) -> Iterator[str]:
    """A fresh empty database URL for ``request.param``: a SQLite file in ``folder``, or a new
    PostgreSQL database (dropped afterwards) on the server of the ``pg_url`` fixture."""
    import sqlalchemy as sa

    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'review.db'}"
        return
    pg_url = request.getfixturevalue("pg_url")
    name = f"review_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def cancel_active_jobs(workspace_root: Path) -> None:
    """Cancel the background jobs a test's pages started and wait for them to end.

    Job supervisors run in their own session, so they outlive the app that
    launched them; the Quiz page's pool job alone fills 40 questions, minutes
    of generation that would otherwise run on beside the rest of the suite.
    """
    from galaxysd_core import jobs
    from galaxysd_core.jobs import store

    table = jobs.list_jobs(workspace_root)
    for job_id in table.loc[table["status"].isin(store.ACTIVE), "id"]:
        jobs.cancel(job_id, workspace=workspace_root, wait=True, timeout=60)
