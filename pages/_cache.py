"""Heavy objects shared by every session, loaded once per process (treat them as read-only).

Pipelines and database stores go through ``st.cache_resource``, tables through
``st.cache_data``; each is keyed on its path and the modification time that
tells a rewritten folder from the one cached.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from galaxysd_core import quiz
from pages._common import active_device, active_model, get_workspace


@st.cache_resource(max_entries=2, show_spinner="Loading the model...")
def _pipeline(path: str, device: str, mtime: float):  # mtime: reload a rewritten folder
    from galaxysd_core.diffusion import load_pipeline

    return load_pipeline(path, device=device)


def pipeline(path: Path | None = None, *, device: str | None = None):
    """The diffusers pipeline of ``path`` (default: the active model), loaded once per process.

    Shared by every session: treat it as read-only (no scheduler swaps in place).
    """
    path = path or active_model()
    index = Path(path) / "model_index.json"
    mtime = index.stat().st_mtime if index.exists() else 0.0
    return _pipeline(str(path), device or active_device(), mtime)


@st.cache_data(max_entries=4, show_spinner=False)
def _pool(folder: str, mtime: float) -> list[quiz.PoolItem]:  # mtime: re-read a rebuilt dataset
    return quiz.load_pool(folder)


def real_pool(dataset: Path) -> list[quiz.PoolItem]:
    """The real images of a dataset and their tags, read once per build; [] until it is built."""
    marker = next(
        (dataset / n for n in (quiz.METADATA, quiz.TRUTH) if (dataset / n).exists()), None
    )
    return _pool(str(dataset), marker.stat().st_mtime) if marker else []


@st.cache_resource(max_entries=4, show_spinner=False)
def _review_store(url: str):
    from galaxysd_core.review import ReviewStore

    return ReviewStore(url)


def review_store():
    """The review database (votes, sessions, quiz answers), opened once per process.

    The URL is ``$GALAXYSD_DB_URL`` or the workspace's SQLite file; the store holds
    no per-user state (a user's identity is the session token in ``Keys.REVIEW_SESSION``).
    """
    from galaxysd_core.db import database_url

    return _review_store(database_url(get_workspace()))
