"""Everything generated in a workspace: the History page's table, its filters, batch zips.

The Compose page writes each batch to ``cache/compose/<time>/`` and the grid to
``runs/<id>/cells/``, every PNG beside its sidecar JSON (the recipe
:func:`~galaxysd_core.diffusion.generate` records). The history is those
sidecars, read back: it outlives the browser session and needs no database.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from galaxysd_core.paths import Workspace

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "batch_folder", "filter_history", "load_history", "zip_images"]

#: Columns of :func:`load_history`, one row per image.
COLUMNS = (
    "path", "created", "batch", "prompt", "negative_prompt", "tags", "seed", "model",
    "scheduler", "steps", "guidance", "strength", "reference",
)  # fmt: skip
# Where generated images with sidecars live, relative to the workspace root.
_PATTERNS = ("cache/compose/*/*.json", "runs/*/cells/*.json")


def batch_folder(ws: Workspace, *, now: float | None = None) -> Path:
    """A new folder for one Compose batch: ``cache/compose/<YYYYmmdd-HHMMSS>[-k]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    folder, k = ws.cache / "compose" / stamp, 1
    while folder.exists():  # two batches in one second keep apart
        folder, k = ws.cache / "compose" / f"{stamp}-{k}", k + 1
    return folder


def load_history(ws: Workspace) -> pd.DataFrame:
    """Every generated image of the workspace with its settings, newest first.

    Parameters
    ----------
    ws : Workspace

    Returns
    -------
    pd.DataFrame
        :data:`COLUMNS`, newest batch first, a batch in seed order; ``tags`` is a tuple of the GZ2 tags the prompt names,
        ``created`` the PNG's modification time (a POSIX timestamp), ``batch``
        its folder relative to the workspace. Sidecars that cannot be read, or
        whose PNG is gone, are skipped (with a log line).
    """
    from galaxysd_core.gz2.prompts import tags_of_prompt

    rows = []
    for pattern in _PATTERNS:
        for sidecar in ws.root.glob(pattern):
            png = sidecar.with_suffix(".png")
            try:
                meta = json.loads(sidecar.read_text())
                created = png.stat().st_mtime
                tags = tuple(tags_of_prompt(meta.get("prompt", "")))
            except (OSError, ValueError) as exc:
                log.info("history: skipping %s (%s)", sidecar, exc)
                continue
            if not isinstance(meta, dict) or "prompt" not in meta:
                continue
            row = {key: meta.get(key) for key in COLUMNS}
            row.update(path=str(png), created=created, tags=tags)
            row["batch"] = str(png.parent.relative_to(ws.root))
            rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    # Newest batch first; a batch in seed order, as it was generated.
    newest = frame.groupby("batch")["created"].transform("max")
    order = frame.assign(_newest=newest).sort_values(
        ["_newest", "batch", "seed", "path"], ascending=[False, True, True, True]
    )
    return order.drop(columns="_newest").reset_index(drop=True)


def filter_history(
    frame: pd.DataFrame,
    *,
    text: str = "",
    tags: Iterable[str] = (),
    models: Iterable[str] = (),
) -> pd.DataFrame:
    """Rows whose prompt contains ``text`` (any case), naming every tag, from one of ``models``.

    Empty filters keep everything.
    """
    keep = pd.Series(True, index=frame.index)
    if text.strip():
        keep &= frame["prompt"].str.contains(text.strip(), case=False, regex=False)
    wanted = set(tags)
    if wanted:
        keep &= frame["tags"].map(lambda have: wanted <= set(have))
    models = list(models)
    if models:
        keep &= frame["model"].isin(models)
    return frame[keep].reset_index(drop=True)


def zip_images(paths: Iterable[str | os.PathLike[str]]) -> bytes:
    """A zip of PNGs and their sidecar JSONs (missing files skipped), for one download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in map(Path, paths):
            for part in (path, path.with_suffix(".json")):
                if part.is_file():
                    archive.write(part, part.name)
    return buffer.getvalue()
