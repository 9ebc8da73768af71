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
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS = REPO_ROOT / "assets"
DEMO_MODEL = ASSETS / "demo-model"
DEMO_ENCODER = ASSETS / "demo-encoder"
TOKENIZER = ASSETS / "tokenizer"
# The read-only reference data shipped beside the project checkout.
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@dataclass(frozen=True)
class Workspace:
    """The layout of one workspace directory.

    Parameters
    ----------
    root : Path
        The workspace directory; created on demand by :meth:`ensure`.
    """

    root: Path

    @property
    def sky(self) -> Path:
        return self.root / "sky"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def campaigns(self) -> Path:
        return self.root / "campaigns"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def database(self) -> Path:
        return self.root / "galaxysd.db"

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
        try:
            Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True


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
