"""What the Dataset page shows, for a mock sky or a prepared dataset, in one call.

For a prepared folder (``metadata.jsonl``) the numbers come from its
``stats/``; for a mock sky or any folder with ``catalog.csv``,
``filename_mapping.csv`` and ``images/`` the funnel is run in memory (without
decoding images) with the given ``min_votes``, ``rule`` and ``max_per_tag``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from galaxysd_core.errors import CatalogError
from galaxysd_core.gz2.catalog import join_images, read_catalog, read_mapping
from galaxysd_core.gz2.dataset import STAGES, read_exclude, read_prepared, select
from galaxysd_core.gz2.stats import combinations, tag_counts


@dataclass(frozen=True)
class Overview:
    """Funnel, tag statistics and a gallery table of one dataset.

    Attributes
    ----------
    kind : str
        ``"prepared"`` or ``"catalogue"``.
    funnel : dict of str to int
        Galaxies left after each stage.
    tag_counts : pandas.DataFrame
        ``tag``, ``phrase`` and one count column per stage available.
    combinations : pandas.DataFrame
        UpSet data of the training set (see :func:`~galaxysd_core.gz2.stats.combinations`).
    gallery : pandas.DataFrame
        Training pairs: ``image`` (path), ``text``, ``tags`` (tuple), ``dr7objid``.
    rule : str
        The flag rule that made the tags (``"galaxysd"`` or ``"willett2013"``;
        a prepared folder from before the choice existed used ``"galaxysd"``).
    min_votes : int or None
        The vote minimum used, if known.
    """

    kind: str
    funnel: dict[str, int]
    tag_counts: pd.DataFrame
    combinations: pd.DataFrame
    gallery: pd.DataFrame
    rule: str = "galaxysd"
    min_votes: int | None = None


def overview(
    folder: str | os.PathLike[str],
    *,
    min_votes: int = 20,
    rule: str = "galaxysd",
    max_per_tag: int = 2000,
    seed: int = 0,
) -> Overview:
    """Summarise a prepared dataset or a raw catalogue folder (e.g. a mock sky).

    Parameters
    ----------
    folder : path-like
        A ``galaxysd prepare`` output or a folder with ``catalog.csv``,
        ``filename_mapping.csv``, ``images/`` (and optionally ``known_detg.csv``).
    min_votes, rule, max_per_tag, seed
        Funnel settings for a catalogue folder (a prepared one reports its own).

    Returns
    -------
    Overview

    Raises
    ------
    CatalogError
        If the folder is neither kind or its files are malformed.
    """
    folder = Path(folder)
    if (folder / "metadata.jsonl").is_file():
        metadata, summary = read_prepared(folder)
        stats = folder / "stats"
        counts = (
            pd.read_csv(stats / "tag_counts.csv")
            if (stats / "tag_counts.csv").is_file()
            else tag_counts({"balanced": metadata["tags"]})
        )
        combos = (
            pd.read_csv(stats / "combinations.csv")
            if (stats / "combinations.csv").is_file()
            else combinations(metadata["tags"])
        )
        gallery = metadata.assign(tags=metadata["tags"].map(tuple))
        funnel = summary.get("funnel") or {"balanced": len(metadata)}
        config = summary.get("config") or {}
        return Overview(
            "prepared",
            funnel,
            counts,
            combos,
            gallery,
            rule=summary.get("rule", config.get("rule", "galaxysd")),
            min_votes=summary.get("min_votes", config.get("min_votes")),
        )
    if not (folder / "catalog.csv").is_file():
        raise CatalogError(
            f"{folder} is neither a prepared dataset (metadata.jsonl) "
            "nor a catalogue folder (catalog.csv)"
        )
    catalog = read_catalog(folder / "catalog.csv")
    joined = join_images(catalog, read_mapping(folder / "filename_mapping.csv"), folder / "images")
    known = folder / "known_detg.csv"
    labels, funnel = select(
        joined,
        min_votes=min_votes,
        rule=rule,
        max_per_tag=max_per_tag,
        exclude=read_exclude(known) if known.is_file() else set(),
        seed=seed,
    )
    labels["image"] = joined["image"].to_numpy()
    counts = tag_counts({s: labels.loc[labels[s], "prompt_tags"] for s in STAGES[2:]})
    chosen = labels.loc[labels["balanced"]]
    gallery = pd.DataFrame(
        {
            "image": chosen["image"].to_numpy(),
            "text": chosen["text"].to_numpy(),
            "tags": chosen["prompt_tags"].to_numpy(),
            "dr7objid": chosen["dr7objid"].to_numpy(),
        }
    )
    return Overview(
        "catalogue",
        {"all": len(catalog), **funnel},
        counts,
        combinations(chosen["prompt_tags"]),
        gallery,
        rule=rule,
        min_votes=min_votes,
    )
