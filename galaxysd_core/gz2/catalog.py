"""Read GZ2 catalogues (CSV, CSV.gz, FITS) and join them to their images.

The paper joins ``gz2_hart16.csv`` to ``{asset_id}.jpg`` through
``gz2_filename_mapping.csv`` (``objid, sample, asset_id``; ``dr7objid ==
objid``; Sec. 3). :func:`read_catalog` accepts the Hart16 and Willett 2013
column formats and returns one normalised table: id column ``dr7objid``,
answer columns renamed to the canonical ``<prefix>_<suffix>``, other columns
lower-cased. Missing or unreadable images are reported, skipped and counted.
"""

from __future__ import annotations

import csv
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.errors import CatalogError
from galaxysd_core.gz2.columns import answer_columns, id_column
from galaxysd_core.gz2.flags import required_columns
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)

ID = "dr7objid"
_FITS_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz", ".fts")


def _read_table(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    try:
        if name.endswith(_FITS_SUFFIXES):
            from astropy.table import Table

            table = Table.read(path, format="fits")
            # Vector columns cannot become pandas columns and no GZ2 field needs one.
            scalar = [c for c in table.colnames if len(table[c].shape) <= 1]
            return table[scalar].to_pandas()
        if name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".txt")):
            table = pd.read_csv(path, low_memory=False)
            if name.endswith((".csv", ".txt")):
                _check_last_row(path, len(table.columns))
            return table
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        if isinstance(exc, CatalogError):
            raise
        # A cut .csv.gz ends before its end-of-stream marker (EOFError).
        raise CatalogError(f"cannot read catalogue {path}: {exc}") from exc
    raise CatalogError(
        f"unsupported catalogue format {path.name!r}: expected .csv, .csv.gz or .fits"
    )


def _check_last_row(path: Path, n_columns: int) -> None:
    """Refuse a CSV cut mid-row: its last row has fewer fields than the header.

    pandas pads a short last row with NaN without a word, so a download cut
    off mid-row would pass as a galaxy with missing answers.

    Raises
    ------
    CatalogError
        Naming the file, the line and the field counts.
    """
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 65536))
        tail = handle.read()
    if not tail.strip():
        return
    ends_cleanly = tail.endswith(b"\n")
    last = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
    fields = next(csv.reader([last]), [])
    if len(fields) < n_columns:
        with path.open("rb") as handle:
            line = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        raise CatalogError(
            f"catalogue {path} looks truncated: its last row (line {line + 1 - ends_cleanly}) "
            f"has {len(fields)} of {n_columns} fields; download or copy it again"
        )
    if not ends_cleanly:
        warnings.warn(
            f"catalogue {path} does not end with a newline; if it was cut off, its last row "
            "is incomplete",
            stacklevel=3,
        )


def normalise_catalog(table: pd.DataFrame, *, source: str = "catalogue") -> pd.DataFrame:
    """Rename a raw catalogue's columns to the canonical names and check them.

    Parameters
    ----------
    table : pandas.DataFrame
        Raw columns as found in the file.
    source : str, default "catalogue"
        What to call the table in error messages (usually its path).

    Returns
    -------
    pandas.DataFrame
        ``dr7objid`` (int64) first, then canonical answer columns, then the rest
        lower-cased; rows with a duplicate id after the first are dropped.

    Raises
    ------
    CatalogError
        If the id column or any column needed for well-sampled flags is
        missing (all missing names are listed).
    """
    ident = id_column(table.columns)
    answers = answer_columns(table.columns)
    have = {f"{prefix}_{suffix}" for prefix, suffix in answers}
    missing = ([] if ident else ["dr7objid (or objid)"]) + [
        c for c in required_columns() if c not in have
    ]
    if missing:
        raise CatalogError(
            f"{source} lacks {len(missing)} required column(s): {', '.join(missing)}"
        )
    renames = {column: f"{prefix}_{suffix}" for (prefix, suffix), column in answers.items()}
    renames[ident] = ID
    for column in table.columns:
        renames.setdefault(column, str(column).strip().lower())
    # One column per target name: the id and the matched answer columns win.
    chosen: dict[str, str] = {}
    for column in [ident, *answers.values(), *table.columns]:
        chosen.setdefault(renames[column], column)
    out = table[list(chosen.values())].set_axis(list(chosen), axis=1)
    try:
        out[ID] = pd.to_numeric(out[ID], errors="raise").astype("int64")
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"{source}: id column {ident!r} is not integer: {exc}") from exc
    dupes = out[ID].duplicated()
    if dupes.any():
        log.warning("%s: dropping %d rows with a repeated %s", source, int(dupes.sum()), ID)
        out = out[~dupes]
    # A copy consolidates the blocks left by the column edits above.
    return out.reset_index(drop=True).copy()


def read_catalog(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a GZ2 catalogue file into a normalised table.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.csv.gz`` or ``.fits`` in the Hart et al. (2016) format (id
        ``dr7objid``) or the Willett et al. (2013) format (id ``objid``).

    Returns
    -------
    pandas.DataFrame
        See :func:`normalise_catalog`.

    Raises
    ------
    CatalogError
        If the file is missing, unreadable, of an unknown format, or lacks
        required columns (listed).
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalogue file not found: {path}")
    return normalise_catalog(_read_table(path), source=str(path))


def read_mapping(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``gz2_filename_mapping.csv`` (``objid, sample, asset_id``).

    Returns
    -------
    pandas.DataFrame
        Columns ``dr7objid`` and ``asset_id`` (int64), one row per galaxy.

    Raises
    ------
    CatalogError
        If the file is missing or lacks an id or ``asset_id`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"image mapping file not found: {path}")
    table = _read_table(path)
    ident = id_column(table.columns)
    lowered = {str(c).strip().lower(): c for c in table.columns}
    missing = ([] if ident else ["objid (or dr7objid)"]) + (
        [] if "asset_id" in lowered else ["asset_id"]
    )
    if missing:
        raise CatalogError(f"{path} lacks required column(s): {', '.join(missing)}")
    out = pd.DataFrame(
        {
            ID: pd.to_numeric(table[ident], errors="coerce"),
            "asset_id": pd.to_numeric(table[lowered["asset_id"]], errors="coerce"),
        }
    ).dropna()
    out = out.astype("int64").drop_duplicates(ID)
    return out.reset_index(drop=True)


@dataclass
class JoinReport:
    """What happened when a catalogue was joined to its images.

    Attributes
    ----------
    total : int
        Catalogue rows considered.
    no_mapping : int
        Rows whose id is not in the mapping file.
    missing_file : int
        Rows whose ``{asset_id}.jpg`` does not exist.
    corrupt : int
        Images that exist but cannot be decoded (filled by :func:`check_images`).
    examples : list of str
        A few human-readable problem lines.
    """

    total: int = 0
    no_mapping: int = 0
    missing_file: int = 0
    corrupt: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Rows left out for any reason."""
        return self.no_mapping + self.missing_file + self.corrupt

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {
            "total": self.total,
            "no_mapping": self.no_mapping,
            "missing_file": self.missing_file,
            "corrupt": self.corrupt,
            "skipped": self.skipped,
            "examples": self.examples[:20],
        }


def join_images(
    catalog: pd.DataFrame,
    mapping: pd.DataFrame,
    images: str | os.PathLike[str],
    *,
    report: JoinReport | None = None,
) -> pd.DataFrame:
    """Attach ``asset_id`` and the image path to each galaxy that has an image file.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Normalised catalogue (column ``dr7objid``).
    mapping : pandas.DataFrame
        From :func:`read_mapping`.
    images : path-like
        Folder holding ``{asset_id}.jpg``.
    report : JoinReport, optional
        Filled with the counts of skipped rows.

    Returns
    -------
    pandas.DataFrame
        The catalogue rows with an existing image, plus ``asset_id`` and
        ``image`` (str path), in catalogue order.

    Raises
    ------
    CatalogError
        If ``images`` is not a folder.
    """
    folder = Path(images)
    if not folder.is_dir():
        raise CatalogError(f"image folder not found: {folder}")
    report = report if report is not None else JoinReport()
    report.total += len(catalog)
    asset = catalog[ID].map(mapping.set_index(ID)["asset_id"])
    no_map = asset.isna().to_numpy()
    report.no_mapping += int(no_map.sum())
    report.examples += [f"no mapping for {ID} {i}" for i in catalog.loc[no_map, ID].head(5)]
    joined = catalog.loc[~no_map].assign(asset_id=asset[~no_map].astype("int64"))
    present = {p.name for p in os.scandir(folder) if p.name.endswith(".jpg")}
    names = joined["asset_id"].astype(str) + ".jpg"
    exists = names.isin(present).to_numpy()
    report.missing_file += int((~exists).sum())
    report.examples += [f"missing image {folder / n}" for n in names[~exists].head(5)]
    joined = joined.loc[exists]
    joined = joined.assign(image=[str(folder / n) for n in names[exists]])
    if report.skipped:
        log.warning(
            "joined %d of %d galaxies to images (%d without mapping, %d without file)",
            len(joined),
            report.total,
            report.no_mapping,
            report.missing_file,
        )
    return joined


def check_images(
    paths: list[str] | pd.Series,
    *,
    report: JoinReport | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Decode every image (at reduced scale) and flag the readable ones.

    Parameters
    ----------
    paths : list of str or pandas.Series
        Image files.
    report : JoinReport, optional
        Its ``corrupt`` count and examples are updated.
    progress : Progress, optional
        Updated every 256 images; honours stop requests.

    Returns
    -------
    numpy.ndarray of bool
        True where the image decoded.
    """
    from PIL import Image

    paths = list(paths)
    ok = np.zeros(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                # JPEG draft mode decodes at 1/8 scale: fast, still hits truncation.
                image.draft("RGB", (max(image.width // 8, 1), max(image.height // 8, 1)))
                image.load()
            ok[i] = True
        except (OSError, ValueError, SyntaxError) as exc:
            if report is not None:
                report.corrupt += 1
                report.examples.append(f"unreadable image {path}: {exc}")
            log.warning("skipping unreadable image %s: %s", path, exc)
        if progress is not None and (i % 256 == 255 or i == len(paths) - 1):
            progress.update(i + 1, len(paths), message="checking images")
            progress.check_stop()
    return ok
