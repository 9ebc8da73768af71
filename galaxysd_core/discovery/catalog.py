"""The galaxies a campaign searches: catalogue rows joined to their images.

A catalogue folder is a mock sky (``galaxysd sky``) or a GZ2 download in the
same layout: ``catalog.csv``, ``filename_mapping.csv``, ``images/``, and
optionally ``known_detg.csv`` (the Kaviraj et al. 2012 list) and
``truth.parquet`` (mock skies only: the hidden truth used to score a campaign).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from galaxysd_core.errors import CatalogError

ID = "dr7objid"


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
