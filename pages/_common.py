"""What every page shares: session-state keys, cached resources, error display.

Pages stay thin: widgets -> a config -> one ``galaxysd_core`` call or job launch
-> show the result. Heavy objects (pipelines, database stores) are created once
per process through ``st.cache_resource`` and treated as read-only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from galaxysd_core import quiz
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


# (section, title, file in pages/, icon, what it is for): the app's fixed page
# list, grouped by what a visitor does with the images (make, measure, use).
PAGES: tuple[tuple[str, str, str, str, str], ...] = (
    ("Studio", "Home", "home.py", ":material/home:", "The state of things and a short tour."),
    ("Make", "Dataset", "dataset.py", ":material/dataset:",
     "Browse a mock sky or GZ2 images, filter by tags, prepare a training set."),
    ("Make", "Compose", "compose.py", ":material/brush:",
     "Write a morphology prompt, weight its tags, generate galaxies."),
    ("Make", "History", "history.py", ":material/history:",
     "Everything generated in this workspace: settings, reuse, download."),
    ("Make", "X/Y Grid", "grid.py", ":material/grid_on:",
     "Sweep two settings; every cell scored by consistency and realism."),
    ("Make", "Training", "training.py", ":material/model_training:",
     "Fine-tune a model, watch the loss and samples, stop or resume."),
    ("Measure", "Metrics", "metrics.py", ":material/monitoring:",
     "Realism, diversity and tag consistency of generated images."),
    ("Measure", "Embedding Map", "embedding_map.py", ":material/scatter_plot:",
     "Real and generated galaxies on one 2-D map."),
    ("Measure", "Quiz", "quiz.py", ":material/quiz:",
     "Spot the generated galaxy among four: a human realism score."),
    ("Use", "Experiments", "experiments.py", ":material/science:",
     "Does synthetic data help a classifier? Train and compare."),
    ("Use", "Review", "review.py", ":material/how_to_vote:",
     "Vote on discovery candidates with other reviewers."),
)  # fmt: skip


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


def list_models(ws: Workspace) -> list[Path]:
    """Diffusers folders a user can pick: the demo model, ``models/*``, run checkpoints."""
    found = [DEMO_MODEL]
    for pattern in ("models/*", "models/*/*", "runs/*/checkpoints/*", "runs/*/checkpoints/*/*"):
        found += sorted(p.parent for p in ws.root.glob(f"{pattern}/model_index.json"))
    return list(dict.fromkeys(found))


def list_datasets(ws: Workspace) -> list[Path]:
    """Mock skies (``sky/*``) and prepared datasets (``datasets/*``) in the workspace."""
    skies = [p.parent for p in ws.sky.glob("*/truth.parquet")]
    prepared = [p.parent for p in ws.datasets.glob("*/metadata.jsonl")]
    return sorted(skies) + sorted(prepared)


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


class ProgressBar(Progress):
    """A core task's progress as an ``st.progress`` bar ("Step 3 of 25")."""

    def __init__(self, text: str) -> None:
        self.bar = st.progress(0.0, text=text)

    def update(self, step: int, total: int, **logs: Any) -> None:
        self.bar.progress(min(step / max(total, 1), 1.0), text=f"Step {step} of {total}")


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


@contextlib.contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a project error as ``st.error`` with what to do, never a traceback."""
    try:
        yield
    except GalaxySDError as exc:
        st.error(f"Could not {action}: {exc}")
