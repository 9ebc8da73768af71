"""What every page shares: session-state keys, cached resources, error display.

Pages stay thin: widgets -> a config -> one ``galaxysd_core`` call or job launch
-> show the result. Heavy objects (pipelines, database stores) are created once
per process through ``st.cache_resource`` and treated as read-only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import streamlit as st

from galaxysd_core.errors import GalaxySDError
from galaxysd_core.paths import DEMO_MODEL, Workspace, workspace


class Keys:
    """Every ``st.session_state`` key the app uses, declared in one place."""

    ACTIVE_MODEL = "active_model"  # str path of a diffusers folder
    ACTIVE_DATASET = "active_dataset"  # str path of a mock sky / GZ2 folder
    DEVICE = "device"  # "cpu" or "cuda"
    REVIEW_SESSION = "review_session"  # token from ReviewStore.sign_in
    COMPOSE_GALLERY = "compose_gallery"  # list of generated PNG paths
    COMPOSE_PRESET = "compose_preset"  # settings sent from the Metrics page


def get_workspace() -> Workspace:
    """The workspace of this app process, created if missing."""
    return workspace().ensure()


def active_model() -> Path:
    """The model chosen in the sidebar (the bundled demo model by default)."""
    return Path(st.session_state.get(Keys.ACTIVE_MODEL) or DEMO_MODEL)


def active_dataset() -> Path:
    """The dataset chosen in the sidebar (the default mock sky by default)."""
    return Path(st.session_state.get(Keys.ACTIVE_DATASET) or get_workspace().sky / "default")


@contextlib.contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a project error as ``st.error`` with what to do, never a traceback."""
    try:
        yield
    except GalaxySDError as exc:
        st.error(f"Could not {action}: {exc}")
