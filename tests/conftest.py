"""Shared fixtures: an isolated workspace, the real reference data, a small mock sky,
and a real PostgreSQL URL when CI provides one."""

from __future__ import annotations

import os
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
