"""Export a round's decisions as CSV or FITS, written atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from galaxysd_core.atomic import atomic_write_bytes, atomic_write_text
from galaxysd_core.paths import Workspace, check_name, resolve_in_workspace
from galaxysd_core.review.errors import ReviewValueError

FORMATS = ("csv", "fits")
COLUMNS = (
    "candidate_id",
    "object_id",
    "ra",
    "dec",
    "score",
    "image",
    "yes",
    "no",
    "unsure",
    "n_votes",
    "decided",
    "accepted",
)


def round_export_path(ws: Workspace, campaign: str, number: int, fmt: str) -> Path:
    """Where the app writes a round's export: ``campaigns/<campaign>/round-<number>.<fmt>``.

    Raises
    ------
    BadNameError
        If the campaign's name is not a plain folder name (e.g. ``../../x``).
    OutsideWorkspaceError
        If the path would still leave the workspace (a linked campaign folder).
    """
    if fmt not in FORMATS:
        raise ReviewValueError(f"export format {fmt!r} is not one of {FORMATS}")
    folder = ws.campaigns / check_name(campaign, field="campaign")
    return resolve_in_workspace(folder / f"round-{int(number)}.{fmt}", ws, field="export")


def export_decisions(
    consensus: pd.DataFrame, path: str | os.PathLike[str], *, fmt: str | None = None
) -> Path:
    """Write a consensus table (from ``ReviewStore.consensus``) to ``path``.

    Parameters
    ----------
    consensus : DataFrame
        One row per candidate with the :data:`COLUMNS`.
    path : path-like
        Output file; replaced atomically.
    fmt : {"csv", "fits"}, optional
        Taken from the suffix of ``path`` when omitted.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ReviewValueError
        Unknown format, or the table lacks columns.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ReviewValueError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    missing = [c for c in COLUMNS if c not in consensus.columns]
    if missing:
        raise ReviewValueError(f"consensus table lacks columns {missing}")
    table = consensus[list(COLUMNS)].copy()
    if fmt == "csv":
        atomic_write_text(path, table.to_csv(index=False))
        return path
    from astropy.table import Table

    # FITS has no NULL for floats: missing coordinates and scores become NaN.
    for column in ("ra", "dec", "score"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    for column in ("object_id", "image"):
        table[column] = table[column].astype(str)
    buffer = io.BytesIO()
    Table.from_pandas(table).write(buffer, format="fits")
    atomic_write_bytes(path, buffer.getvalue())
    return path
