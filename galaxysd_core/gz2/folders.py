"""Dataset folders: their galaxies, images and tags, read the same way by every domain.

Two layouts (CONTRIBUTING.md, "Data contracts"):

- a catalogue folder: a mock sky (``galaxysd sky``) or a GZ2 download in the
  same layout: ``catalog.csv``, ``filename_mapping.csv``, ``images/``, and
  optionally ``known_detg.csv`` (the Kaviraj et al. 2012 list) and
  ``truth.parquet`` (mock skies only: the hidden truth, one boolean column per
  GZ2 answer prefix);
- a prepared dataset (``galaxysd prepare``): ``metadata.jsonl`` lines with
  ``file_name`` and ``tags``.

:func:`real_table` gives the tagged real images of either (the real set of the
metrics, the map, the quiz and the Compose page's references);
:func:`catalog_items`, :func:`known_ids` and :func:`read_truth` the catalogue
of a discovery campaign or a classifier experiment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from galaxysd_core.errors import CatalogError
from galaxysd_core.gz2.tree import ANSWER_BY_PREFIX, ANSWER_BY_TAG

ID = "dr7objid"
METADATA = "metadata.jsonl"
TRUTH = "truth.parquet"


def catalog_items(sky: str | os.PathLike[str]) -> pd.DataFrame:
    """Every galaxy with an image: ``object_id, ra, dec, path``.

    Parameters
    ----------
    sky : path-like
        A catalogue folder (see the module docstring).

    Returns
    -------
    DataFrame
        In catalogue order; ``object_id`` is the catalogue id as a string.

    Raises
    ------
    CatalogError
        If files are missing or no galaxy has an image.
    """
    from galaxysd_core.gz2 import join_images, read_catalog, read_mapping

    sky = Path(sky)
    if not sky.is_dir():
        raise CatalogError(f"catalogue folder not found: {sky}")
    catalog = read_catalog(sky / "catalog.csv")
    mapping = read_mapping(sky / "filename_mapping.csv")
    joined = join_images(catalog, mapping, sky / "images")
    if joined.empty:
        raise CatalogError(f"no galaxy of {sky} has an image in {sky / 'images'}")
    return pd.DataFrame(
        {
            "object_id": joined[ID].astype(str).to_numpy(),
            "ra": joined["ra"].to_numpy(dtype=float),
            "dec": joined["dec"].to_numpy(dtype=float),
            "path": joined["image"].astype(str).to_numpy(),
        }
    )


def known_ids(sky: str | os.PathLike[str]) -> set[str]:
    """Ids of ``known_detg.csv`` (empty when the folder has none)."""
    path = Path(sky) / "known_detg.csv"
    if not path.exists():
        return set()
    table = pd.read_csv(path, dtype={ID: str})
    if ID not in table.columns:
        raise CatalogError(f"{path} lacks the column {ID!r}")
    return set(table[ID].astype(str))


def read_truth(sky: str | os.PathLike[str]) -> pd.DataFrame | None:
    """The mock sky's hidden truth indexed by ``object_id`` (None for real data)."""
    path = Path(sky) / "truth.parquet"
    if not path.exists():
        return None
    truth = pd.read_parquet(path)
    truth["object_id"] = truth[ID].astype(str)
    return truth.set_index("object_id")


def tag_frame(truth: pd.DataFrame) -> pd.DataFrame:
    """Boolean tag columns of a truth table (answer-prefix columns renamed to tags).

    Missing values count as False.
    """
    cols = {c: ANSWER_BY_PREFIX[c].tag for c in truth.columns if c in ANSWER_BY_PREFIX}
    # Tag-named columns count only where no answer-prefix column gives the tag
    # (a mock sky's truth also has rendering columns such as "bar" and "spiral").
    cols |= {c: c for c in truth.columns if c in ANSWER_BY_TAG and c not in cols.values()}
    return truth[list(cols)].rename(columns=cols).fillna(False).astype(bool)


def real_table(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """The real images of a mock sky or prepared dataset with their tags.

    Parameters
    ----------
    folder : path-like
        A catalogue folder with ``truth.parquet`` or a prepared dataset.

    Returns
    -------
    pd.DataFrame
        ``path`` (str) and ``tags`` (tuple of str, in the file's order), one
        row per image listed (whether or not its file exists).

    Raises
    ------
    CatalogError
        If the folder has neither ``truth.parquet`` nor ``metadata.jsonl``, a
        metadata line is malformed or names a file outside the folder, or the
        truth table lacks ``asset_id``.
    """
    root = Path(folder)
    if (root / TRUTH).is_file():
        truth = pd.read_parquet(root / TRUTH)
        if "asset_id" not in truth.columns:
            raise CatalogError(f"{root / TRUTH} lacks the asset_id column")
        tags = tag_frame(truth)
        names, rows = tags.columns.to_numpy(), tags.to_numpy()
        return pd.DataFrame(
            {
                "path": [str(root / "images" / f"{a}.jpg") for a in truth["asset_id"]],
                "tags": [tuple(names[r]) for r in rows],
            }
        )
    if (root / METADATA).is_file():
        records = [_record(root, n, line) for n, line in _lines(root / METADATA)]
        return pd.DataFrame({"path": [r[0] for r in records], "tags": [r[1] for r in records]})
    raise CatalogError(
        f"{root} is not a dataset: expected {TRUTH} (mock sky) or {METADATA} (prepared dataset)"
    )


def _lines(path: Path) -> list[tuple[int, str]]:
    text = path.read_text("utf-8").splitlines()
    return [(number, line) for number, line in enumerate(text, 1) if line.strip()]


def _record(root: Path, number: int, line: str) -> tuple[str, tuple[str, ...]]:
    """One ``metadata.jsonl`` line as (path, tags)."""
    try:
        row = json.loads(line)
        path, tags = root / row["file_name"], tuple(row.get("tags", ()))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CatalogError(f"{root / METADATA} line {number} is malformed: {exc}") from exc
    # A file name may not lead out of the dataset (``../../etc/passwd``).
    if not path.resolve().is_relative_to(root.resolve()):
        raise CatalogError(
            f"{root / METADATA} line {number}: file_name {row['file_name']!r} "
            "points outside the dataset folder"
        )
    return str(path), tags
