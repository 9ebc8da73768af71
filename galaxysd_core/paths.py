"""Where things live: the repository's assets and the user's workspace.

The workspace (``GALAXYSD_HOME``, default ``./workspace``) holds everything the
project writes::

    sky/<name>/            mock skies (catalog.csv, images/, truth.parquet, ...)
    datasets/<name>/       prepared training sets (metadata.jsonl, images)
    models/<name>/         diffusers folders made or imported by the user
    runs/<id>/             one per job: config.json, progress.jsonl, log.txt,
                           checkpoints/, samples/
    campaigns/<name>/      discovery campaigns, round by round
    cache/                 embeddings and maps, safe to delete
    galaxysd.db            SQLite database (unless GALAXYSD_DB_URL is set)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from galaxysd_core.errors import BadNameError, OutsideWorkspaceError

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS = REPO_ROOT / "assets"
DEMO_MODEL = ASSETS / "demo-model"
#: A model's autoguidance partner lives beside it as ``<name>-guide`` (:func:`guide_for`).
GUIDE_SUFFIX = "-guide"
DEMO_GUIDE = ASSETS / f"demo-model{GUIDE_SUFFIX}"
DEMO_ENCODER = ASSETS / "demo-encoder"
TOKENIZER = ASSETS / "tokenizer"
# The read-only reference data shipped beside the project checkout.
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
#: Folders outside the workspace that jobs may read (never write), ":"-separated,
#: e.g. large weights or the GZ2 images: ``GALAXYSD_DATA_DIRS=/data/sd15:/data/gz2``.
DATA_DIRS_ENV = "GALAXYSD_DATA_DIRS"


def read_roots() -> tuple[Path, ...]:
    """Folders outside the workspace whose files jobs and the app may read.

    The bundled ``assets/``, the shared reference data, and the folders of
    ``$GALAXYSD_DATA_DIRS``. Nothing is ever written there.
    """
    extra = os.environ.get(DATA_DIRS_ENV, "")
    chosen = [Path(p).expanduser() for p in extra.split(os.pathsep) if p.strip()]
    return (ASSETS, SHARED_REFERENCE, *chosen)


class _Folder:
    """A path below the workspace root: ``ws.sky`` is ``ws.root / "sky"``."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.name = self.name or attribute

    def __get__(self, ws: Workspace, owner: type | None = None) -> Path:
        return ws.root / self.name


@dataclass(frozen=True)
class Workspace:
    """The layout of one workspace directory.

    Parameters
    ----------
    root : Path
        The workspace directory; created on demand by :meth:`ensure`.
    """

    root: Path

    sky = _Folder()
    datasets = _Folder()
    models = _Folder()
    runs = _Folder()
    campaigns = _Folder()
    cache = _Folder()
    database = _Folder("galaxysd.db")

    def run_dir(self, run_id: str) -> Path:
        """Return ``runs/<run_id>`` (not created)."""
        return self.runs / run_id

    def ensure(self) -> Workspace:
        """Create the workspace folders if missing and return ``self``."""
        for folder in (self.sky, self.datasets, self.models, self.runs, self.campaigns, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` resolves inside the workspace (guards user-given paths)."""
        return Path(path).expanduser().resolve().is_relative_to(self.root.resolve())


def workspace(root: str | os.PathLike[str] | None = None) -> Workspace:
    """Return the workspace at ``root``, ``$GALAXYSD_HOME`` or ``./workspace``.

    Parameters
    ----------
    root : path-like, optional
        Explicit workspace directory; wins over the environment.

    Returns
    -------
    Workspace
        The layout object; folders are not created (call ``ensure()``).
    """
    chosen = root if root is not None else os.environ.get("GALAXYSD_HOME", "workspace")
    return Workspace(Path(chosen).expanduser().resolve())


def list_models(ws: Workspace) -> list[Path]:
    """Diffusers folders a user can pick: the demo model, ``models/*``, run checkpoints."""
    found = [DEMO_MODEL]
    for pattern in ("models/*", "models/*/*", "runs/*/checkpoints/*", "runs/*/checkpoints/*/*"):
        found += sorted(p.parent for p in ws.root.glob(f"{pattern}/model_index.json"))
    return list(dict.fromkeys(found))


def guide_for(model: str | os.PathLike[str]) -> Path | None:
    """The autoguidance partner of ``model``: the diffusers folder ``<model>-guide`` beside it.

    ``galaxysd demo guide`` writes the demo model's there (:data:`DEMO_GUIDE`);
    None when there is none, so callers offer autoguidance only where it can run.
    """
    model = Path(model)
    guide = model.with_name(model.name + GUIDE_SUFFIX)
    return guide if (guide / "model_index.json").is_file() else None


def list_datasets(ws: Workspace) -> list[Path]:
    """Mock skies (``sky/*``) and prepared datasets (``datasets/*``) in the workspace."""
    skies = [p.parent for p in ws.sky.glob("*/truth.parquet")]
    prepared = [p.parent for p in ws.datasets.glob("*/metadata.jsonl")]
    return sorted(skies) + sorted(prepared)


#: A name that may become one folder name: letters, digits, ``_ . -``, not
#: starting with a dot (so never ``.``, ``..`` or a hidden folder).
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


def check_name(name: object, *, field: str) -> str:
    """Return ``name`` if it can safely be one folder name, else raise naming ``field``.

    Parameters
    ----------
    name : object
        A campaign, model, dataset or run name.
    field : str
        What the name is, for the message (e.g. ``"RoundConfig.campaign"``).

    Raises
    ------
    BadNameError
        Unless it is 1-64 letters, digits, ``_ . -`` and does not start with a dot.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadNameError(
            f"{field}: {name!r} is not a name; use 1-64 letters, digits, _ . - "
            "(not starting with a dot)"
        )
    return name


def resolve_in_workspace(
    path: str | os.PathLike[str],
    ws: Workspace | str | os.PathLike[str],
    *,
    field: str = "path",
    read_roots: tuple[Path, ...] = (),
) -> Path:
    """Resolve a user-given path against the workspace and refuse it if it leaves it.

    The one confinement rule of the app and of job configs: a relative path
    means workspace-relative; ``~``, ``..`` and symbolic links are resolved
    first, so none of them leads out.

    Parameters
    ----------
    path : path-like
        The path as the user gave it.
    ws : Workspace or path
        The workspace (its root).
    field : str, default "path"
        The config field or form input, for the message.
    read_roots : tuple of Path, default ()
        Further folders accepted for paths that are only read (the bundled
        ``assets/`` and the shared reference data).

    Returns
    -------
    Path
        The absolute, resolved path.

    Raises
    ------
    OutsideWorkspaceError
        If it resolves outside the workspace (and outside ``read_roots``).
    """
    root = ws.root if isinstance(ws, Workspace) else Path(ws)
    root = root.expanduser().resolve()
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    for allowed in (root, *read_roots):
        if resolved.is_relative_to(allowed.resolve()):
            return resolved
    raise OutsideWorkspaceError(
        f"{field}: {str(path)!r} is outside the workspace {root}; "
        "give a path inside it (relative paths are taken from the workspace)"
    )
