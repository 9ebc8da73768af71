"""Catalogue -> balanced, captioned training set (paper Sec. 3; job kind ``prepare``).

The funnel (paper: 239,695 -> 71,455 well-sampled -> 27,910 training pairs):

1. ``all`` catalogue rows, ``with_image`` those joined to a readable image;
2. ``well_sampled``: at least one well-sampled tag (:func:`well_sampled_flags`);
3. ``informative``: galaxies tagged "star or artifact" removed, the "something
   odd" tag and tags without a phrase dropped, at least one phrase left;
4. ``not_detg``: the known D-ETGs and every early-type (completely round or
   in-between round) AND dust-lane galaxy removed, so D-ETGs stay unseen;
5. ``balanced``: tags above ``max_per_tag`` galaxies down-sampled with a fixed seed.

The output folder is a diffusers image folder (``metadata.jsonl`` with
``file_name``, ``text``, ``tags``, ``dr7objid``; images beside it) and also the
authors' layout (``{asset_id}.txt`` caption beside each ``{asset_id}.jpg``),
plus ``stats/`` (``summary.json``, ``tag_counts.csv``, ``combinations.csv``,
``examples.json`` (a few image names per tag), ``galaxies.csv``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_dir
from galaxysd_core.errors import CatalogError
from galaxysd_core.gz2.catalog import (
    ID,
    JoinReport,
    check_images,
    join_images,
    read_catalog,
    read_mapping,
)
from galaxysd_core.gz2.columns import id_column
from galaxysd_core.gz2.config import PrepareConfig
from galaxysd_core.gz2.flags import gz2_class, tag_combinations, well_sampled_flags
from galaxysd_core.gz2.prompts import DROPPED_TAGS, PHRASE_ORDER, PHRASES, prompt_for
from galaxysd_core.gz2.stats import combinations, examples_per_tag, tag_counts
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)
# PrepareConfig lives in .config; named here for the callers that import it from here.
__all__ = ["PrepareConfig", "prepare_dataset", "read_prepared"]

EARLY_TYPE_TAGS = frozenset({"completely_round", "in_between"})
STAGES = ("all", "with_image", "well_sampled", "informative", "not_detg", "balanced")


def read_exclude(path: str | os.PathLike[str]) -> set[int]:
    """Read the ids of a known-D-ETG list (CSV with ``dr7objid`` or ``objid``)."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"exclusion list not found: {path}")
    table = pd.read_csv(path)
    column = id_column(table.columns)
    if column is None:
        raise CatalogError(f"{path} lacks an id column (dr7objid or objid)")
    return set(pd.to_numeric(table[column], errors="coerce").dropna().astype("int64"))


def label_catalog(
    catalog: pd.DataFrame, *, min_votes: int = 20, rule: str = "galaxysd"
) -> pd.DataFrame:
    """Well-sampled tags, informative tags, prompt and class string of every galaxy.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Normalised catalogue (from :func:`read_catalog`).
    min_votes : int, default 20
        See :func:`well_sampled_flags`.
    rule : str, default "galaxysd"
        See :func:`well_sampled_flags`.

    Returns
    -------
    pandas.DataFrame
        ``dr7objid``, ``tags`` (all well-sampled tags), ``prompt_tags`` (tags
        with a phrase, "odd" dropped), ``text`` (prompt), ``gz2_class``,
        ``artifact`` (bool) and ``detg_like`` (early type AND dust lane); same
        index as ``catalog``.
    """
    flags = well_sampled_flags(catalog, min_votes=min_votes, rule=rule)
    combos, inverse = tag_combinations(flags)
    phrase_tags = set(PHRASES) - DROPPED_TAGS
    per_combo = pd.DataFrame({"tags": pd.Series(combos, dtype=object)})
    per_combo["prompt_tags"] = per_combo["tags"].map(
        lambda ts: tuple(t for t in ts if t in phrase_tags)
    )
    per_combo["text"] = per_combo["prompt_tags"].map(prompt_for)
    per_combo["gz2_class"] = per_combo["tags"].map(gz2_class)
    per_combo["artifact"] = per_combo["tags"].map(lambda ts: "star_or_artifact" in ts)
    per_combo["detg_like"] = per_combo["tags"].map(
        lambda ts: bool(EARLY_TYPE_TAGS & set(ts)) and "dust_lane" in ts
    )
    labels = per_combo.iloc[inverse].set_axis(catalog.index)
    labels.insert(0, ID, catalog[ID].to_numpy())
    return labels


def balance(tags: pd.Series, *, max_per_tag: int, seed: int = 0) -> np.ndarray:
    """Down-sample so no tag needs more than ``max_per_tag`` galaxies (Sec. 3).

    Tags are visited from the rarest to the most common. A tag with at most
    ``max_per_tag`` galaxies keeps all of them; a larger tag gets random
    galaxies (seeded) until it has ``max_per_tag``, counting those already
    chosen for rarer tags. A common tag can therefore end slightly above the
    cap through co-occurrence, but every rare tag keeps all its galaxies.

    Parameters
    ----------
    tags : pandas.Series
        Tuples of tags per galaxy; the index is only carried along.
    max_per_tag : int
        The cap.
    seed : int, default 0
        Seed; the same input rows (in any order, keyed by position of the
        sorted index) give the same selection.

    Returns
    -------
    numpy.ndarray of bool
        Selection mask aligned with ``tags``.
    """
    order = np.argsort(tags.index.to_numpy(), kind="stable")
    rows = tags.to_numpy()[order]
    members: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        for tag in set(row):
            members.setdefault(tag, []).append(i)
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(rows), dtype=bool)
    rank = {t: i for i, t in enumerate(PHRASE_ORDER)}
    for tag in sorted(members, key=lambda t: (len(members[t]), rank.get(t, 99), t)):
        idx = np.asarray(members[tag])
        if len(idx) <= max_per_tag:
            chosen[idx] = True
            continue
        need = max_per_tag - int(chosen[idx].sum())
        if need > 0:
            free = idx[~chosen[idx]]
            chosen[rng.permutation(free)[:need]] = True
    mask = np.zeros(len(rows), dtype=bool)
    mask[order] = chosen
    return mask


def select(
    catalog: pd.DataFrame,
    *,
    min_votes: int = 20,
    rule: str = "galaxysd",
    max_per_tag: int = 2000,
    exclude: set[int] | None = None,
    seed: int = 0,
    image_ok: Callable[[list[str]], np.ndarray] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Run the funnel in memory on a catalogue already joined to its images.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Normalised catalogue rows that have images.
    min_votes, rule, max_per_tag, seed
        See :class:`PrepareConfig`.
    exclude : set of int, optional
        Known D-ETG ids to remove.
    image_ok : callable, optional
        Given the ``image`` paths of the candidates left before balancing,
        returns a boolean mask of readable ones; unreadable ones are dropped
        (e.g. :func:`~galaxysd_core.gz2.catalog.check_images`).

    Returns
    -------
    labels : pandas.DataFrame
        :func:`label_catalog` columns plus one boolean column per stage from
        ``well_sampled`` to ``balanced``.
    funnel : dict of str to int
        Galaxies left after each stage (``with_image`` onwards).
    """
    labels = label_catalog(catalog, min_votes=min_votes, rule=rule)
    labels["well_sampled"] = labels["tags"].map(bool)
    labels["informative"] = (
        labels["well_sampled"] & ~labels["artifact"] & labels["prompt_tags"].map(bool)
    )
    known = labels[ID].isin(exclude or set())
    labels["not_detg"] = labels["informative"] & ~known & ~labels["detg_like"]
    if image_ok is not None:
        candidates = labels.index[labels["not_detg"]]
        readable = image_ok(list(catalog.loc[candidates, "image"]))
        labels.loc[candidates[~readable], "not_detg"] = False
    keep = labels["not_detg"].to_numpy()
    balanced = np.zeros(len(labels), dtype=bool)
    subset = labels.loc[keep]
    balanced[keep] = balance(
        pd.Series(subset["prompt_tags"].to_numpy(), index=subset[ID].to_numpy()),
        max_per_tag=max_per_tag,
        seed=seed,
    )
    labels["balanced"] = balanced
    funnel = {"with_image": len(labels)}
    funnel.update({s: int(labels[s].sum()) for s in STAGES[2:]})
    return labels, funnel


def prepare_dataset(config: PrepareConfig, *, progress: Progress | None = None) -> Path:
    """Build the balanced, captioned training folder described in the module docstring.

    Parameters
    ----------
    config : PrepareConfig
        What to read and where to write.
    progress : Progress, optional
        Reports image checking and export; a stop request cancels cleanly
        (nothing is left half-written).

    Returns
    -------
    Path
        The finished dataset: ``metadata.jsonl``, images with ``.txt`` captions, ``stats/``.

    Raises
    ------
    CatalogError
        If an input is missing or malformed.
    FileExistsError
        If the output exists, is not empty and ``overwrite`` is False.
    """
    config.validate()
    progress = progress or Progress()
    out = config.resolved_out()
    report = JoinReport()
    catalog = read_catalog(config.catalog)
    joined = join_images(catalog, read_mapping(config.mapping), config.images, report=report)
    exclude = read_exclude(config.exclude) if config.exclude else set()
    labels, funnel = select(
        joined,
        min_votes=config.min_votes,
        rule=config.rule,
        max_per_tag=config.max_per_tag,
        exclude=exclude,
        seed=config.seed,
        image_ok=lambda paths: check_images(paths, report=report, progress=progress),
    )
    funnel = {"all": len(catalog), **funnel}
    labels["asset_id"] = joined["asset_id"].to_numpy()
    labels["image"] = joined["image"].to_numpy()
    chosen = labels.loc[labels["balanced"]].sort_values(ID)
    with atomic_dir(out, overwrite=config.overwrite) as tmp:
        _export(chosen, tmp, progress=progress)
        _write_stats(tmp / "stats", labels, funnel, report, config)
    log.info("prepared %d training pairs in %s (funnel %s)", len(chosen), out, funnel)
    return out


def _export(chosen: pd.DataFrame, folder: Path, *, progress: Progress) -> None:
    lines = []
    total = len(chosen)
    for i, row in enumerate(chosen.itertuples(index=False), start=1):
        name = f"{row.asset_id}.jpg"
        shutil.copyfile(row.image, folder / name)
        (folder / f"{row.asset_id}.txt").write_text(row.text + "\n", encoding="utf-8")
        record = {
            "file_name": name,
            "text": row.text,
            "tags": list(row.prompt_tags),
            ID: int(getattr(row, ID)),
        }
        lines.append(json.dumps(record))
        if i % 256 == 0 or i == total:
            progress.update(i, total, message="writing dataset")
            progress.check_stop()
    (folder / "metadata.jsonl").write_text("".join(f"{line}\n" for line in lines), "utf-8")


def _write_stats(
    folder: Path,
    labels: pd.DataFrame,
    funnel: dict[str, int],
    report: JoinReport,
    config: PrepareConfig,
) -> None:
    folder.mkdir()
    stage_tags = {s: labels.loc[labels[s], "prompt_tags"] for s in STAGES[2:]}
    tag_counts(stage_tags).to_csv(folder / "tag_counts.csv", index=False)
    combinations(stage_tags["balanced"]).to_csv(folder / "combinations.csv", index=False)
    chosen = labels.loc[labels["balanced"]].sort_values(ID)
    examples = examples_per_tag(
        list(chosen["prompt_tags"]), [f"{a}.jpg" for a in chosen["asset_id"]], seed=config.seed
    )
    (folder / "examples.json").write_text(json.dumps(examples, indent=2) + "\n", "utf-8")
    galaxies = labels[[ID, "asset_id", "gz2_class", "text", *STAGES[2:]]].copy()
    galaxies["tags"] = labels["tags"].map(" ".join)
    galaxies.to_csv(folder / "galaxies.csv", index=False)
    summary = {
        "funnel": funnel,
        "rule": config.rule,
        "min_votes": config.min_votes,
        "images": report.to_dict(),
        "config": config.to_dict(),
        "detg_excluded": int((labels["informative"] & ~labels["not_detg"]).sum()),
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")


def read_prepared(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a folder written by :func:`prepare_dataset`.

    Returns
    -------
    metadata : pandas.DataFrame
        One row per training pair: ``file_name``, ``text``, ``tags`` (list),
        ``dr7objid``, and ``image`` (absolute path).
    summary : dict
        ``stats/summary.json`` (funnel, image report, config).

    Raises
    ------
    CatalogError
        If ``metadata.jsonl`` is missing or not JSON lines.
    """
    folder = Path(folder)
    path = folder / "metadata.jsonl"
    if not path.is_file():
        raise CatalogError(f"{folder} is not a prepared dataset: no metadata.jsonl")
    try:
        metadata = pd.read_json(path, lines=True, dtype={ID: "int64"})
    except ValueError as exc:
        raise CatalogError(f"{path} is not valid JSON lines: {exc}") from exc
    if len(metadata):
        metadata["image"] = [str(folder / name) for name in metadata["file_name"]]
    summary_path = folder / "stats" / "summary.json"
    summary = json.loads(summary_path.read_text("utf-8")) if summary_path.exists() else {}
    return metadata, summary


def prepared_tags(folder: str | os.PathLike[str]) -> tuple[list[Path], list[tuple[str, ...]]]:
    """Images of a prepared dataset with every well-sampled tag of each galaxy.

    ``metadata.jsonl`` keeps only the tags that have a phrase (the prompt's);
    ``stats/galaxies.csv`` has all of them, negative answers such as
    ``no_bar`` or ``not_odd`` included, which is what a classifier or probe
    trained from the catalogue's votes needs to know a "no". Without that
    file the prompt tags are used.

    Returns
    -------
    paths : list of Path
        The dataset's images, in ``metadata.jsonl`` order.
    tags : list of tuple of str
        Well-sampled tags per image.

    Raises
    ------
    CatalogError
        If ``metadata.jsonl`` is missing or not JSON lines.
    """
    folder = Path(folder)
    metadata, _ = read_prepared(folder)
    tags = [tuple(t) for t in metadata["tags"]]
    full = folder / "stats" / "galaxies.csv"
    if full.is_file() and ID in metadata:
        every = pd.read_csv(full, usecols=[ID, "tags"]).set_index(ID)["tags"].fillna("")
        tags = [
            tuple(str(every.get(i, "")).split()) or t
            for i, t in zip(metadata[ID], tags, strict=True)
        ]
    return [Path(p) for p in metadata["image"]], tags
