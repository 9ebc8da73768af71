"""What every page shares: session-state keys, the active choices, workspace paths, errors.

Pages stay thin: widgets -> a config -> one ``galaxysd_core`` call or job launch
-> show the result. Heavy objects loaded once per process are in
``pages/_cache.py``; the page list is ``pages/_nav.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from galaxysd_core.errors import GalaxySDError
from galaxysd_core.errors import (
    OutsideWorkspaceError as OutsideWorkspaceError,
)  # pages import it here
from galaxysd_core.paths import ASSETS, DEMO_MODEL, Workspace, resolve_in_workspace, workspace
from galaxysd_core.progress import Progress

# The mock sky built in the background on first run (Home page): big enough for
# quiz rounds and a first look at the Dataset page, small enough for 2 CPU cores.
DEFAULT_SKY = "default"
DEFAULT_SKY_CONFIG = {"n": 2000, "size": 64, "seed": 0}


class Keys:
    """Every ``st.session_state`` key the app uses, declared in one place."""

    ACTIVE_MODEL = "active_model"  # str path of a diffusers folder
    ACTIVE_DATASET = "active_dataset"  # str path of a mock sky / GZ2 folder
    DEVICE = "device"  # "cpu" or "cuda"
    REVIEW_SESSION = "review_session"  # token from ReviewStore.sign_in
    REVIEW_ROUND = "review_round"  # int id of the round picked on the Review page
    REVIEW_FLASH = "review_flash"  # message of the last admin action, shown once
    REVIEW_NOTE = "review_note"  # the note typed for the next vote
    COMPOSE_PRESET = "compose_preset"  # settings sent from Metrics, History or PNG-info
    COMPOSE_LAST = "compose_last"  # dict: paths, seeds, prompt, reference, real of the last batch
    COMPOSE_LIVE = (
        "compose_live_preview"  # ((model, device), LivePreview) of this session's live mode
    )
    COMPOSE_REFERENCE = "compose_reference"  # str path of an image sent from History
    HISTORY_SELECTED = "history_selected"  # str path of the image opened on History
    GRID_RUN = "grid_run"  # str path of the grid folder shown on the Grid page
    QUIZ_ROUND = "quiz_round"  # [Question.to_dict(), ...]: the five questions of the round
    QUIZ_PICKS = "quiz_picks"  # [int, ...]: the player's picks so far in the round
    QUIZ_SEEN = "quiz_seen"  # [str, ...]: question ids this session has played
    QUIZ_PLAYER = "quiz_player"  # name typed on the Quiz page
    DEFAULT_SKY_JOB = "default_sky_job"  # run id of the first-run mock-sky build
    METRICS_JOB = "metrics_job"  # id of the evaluation the Metrics page waits for
    MAP_JOB = "map_job"  # id of the map job the Embedding Map page waits for


def get_workspace() -> Workspace:
    """The workspace of this app process, created if missing."""
    return workspace().ensure()


def confine(path: str | Path, *, allow_assets: bool = False) -> Path:
    """Resolve a user-given path and refuse it unless it lies in the workspace.

    Parameters
    ----------
    path : str or Path
        The path as given (relative paths are taken from the workspace root).
    allow_assets : bool, default False
        Also accept the repository's bundled ``assets/`` (the demo model).

    Returns
    -------
    Path
        The resolved path (symbolic links and ``..`` followed).

    Raises
    ------
    OutsideWorkspaceError
        If it resolves outside the workspace (e.g. ``../../etc/passwd``).
    """
    roots = (ASSETS,) if allow_assets else ()
    return resolve_in_workspace(path, get_workspace(), field="path", read_roots=roots)


def label_for(path: Path) -> str:
    """A short label: relative to the workspace, or ``demo model`` for the bundled one."""
    if path == DEMO_MODEL:
        return "demo model (bundled)"
    try:
        return str(path.relative_to(get_workspace().root))
    except ValueError:
        return str(path)


def active_model() -> Path:
    """The model chosen in the sidebar (the bundled demo model by default)."""
    chosen = st.session_state.get(Keys.ACTIVE_MODEL)
    return confine(chosen, allow_assets=True) if chosen else DEMO_MODEL


def active_dataset() -> Path:
    """The dataset chosen in the sidebar (the default mock sky by default)."""
    chosen = st.session_state.get(Keys.ACTIVE_DATASET)
    return confine(chosen) if chosen else get_workspace().sky / DEFAULT_SKY


def active_device() -> str:
    """The torch device chosen in the sidebar (``cpu`` by default)."""
    return st.session_state.get(Keys.DEVICE) or "cpu"


class ProgressBar(Progress):
    """A core task's progress as an ``st.progress`` bar ("Step 3 of 25")."""

    def __init__(self, text: str) -> None:
        self.bar = st.progress(0.0, text=text)

    def update(self, step: int, total: int, **logs: Any) -> None:
        self.bar.progress(min(step / max(total, 1), 1.0), text=f"Step {step} of {total}")


@contextlib.contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a project error as ``st.error`` with what to do, never a traceback."""
    try:
        yield
    except GalaxySDError as exc:
        st.error(f"Could not {action}: {exc}")
