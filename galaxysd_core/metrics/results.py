"""Reading evaluation results for display: trends, tables, Pareto points, presets.

The Metrics page only chooses and shows; the shaping of ``metrics.parquet``
and ``pareto.parquet`` into what a chart needs lives here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from galaxysd_core.errors import ConfigError
from galaxysd_core.metrics.evaluate import METRIC_COLUMNS
from galaxysd_core.metrics.morphology import STATISTIC_HELP

#: What each metric means, for labels and tooltips.
METRIC_HELP: dict[str, str] = {
    "realism": "Eq. 1: mean max cosine similarity to a real galaxy (higher = more realistic)",
    "diversity": "Eq. 3: mean cosine similarity to all real galaxies (lower = more varied)",
    "consistency": "Eq. 5: share of applicable feature classifiers agreeing with the prompt",
    "fd": "Fréchet distance of Gaussian fits (lower = closer)",
    "kid": "kernel (MMD²) distance (lower = closer; ~0 for matching sets)",
    "precision": "share of generated images inside the real manifold (k-NN balls)",
    "recall": "share of real images inside the generated manifold",
    "density": "how densely generated images sit among real neighbours (~1 matching)",
    "coverage": "share of real neighbourhoods that hold a generated image",
    "c2st": "real-vs-generated classifier accuracy (0.5 = indistinguishable)",
    "physical": "mean scaled Wasserstein distance of the 8 statmorph statistics (lower = closer)",
    **{f"w_{s}": f"scaled Wasserstein distance of {s}: {h}" for s, h in STATISTIC_HELP.items()},
    "morph_failed": "share of images statmorph could not measure (flagged)",
    "copy_pixel": "share of images closer (pixels) to a training image than any held-out real",
    "copy_embedding": "the same in the SimCLR space (copies up to flips and shifts)",
}

#: Why a cell can be empty, per group of columns (the page's "None" explanations).
_MISSING = {
    ("precision", "recall", "density", "coverage"): "need more than k = 5 images on both sides "
    "(raise 'images per prompt' to 6 or more)",
    ("c2st",): "needs at least 5 images on both sides",
    ("realism", "diversity", "fd", "kid"): "no real galaxy in the dataset carries this "
    "prompt's tags",
    ("consistency",): "no feature classifier applies to this prompt's tags",
    ("physical", *(f"w_{s}" for s in STATISTIC_HELP), "morph_failed"): "statmorph measured fewer "
    "than 2 images of a side, or the evaluation ran without morphology (older results)",
    ("copy_pixel", "copy_embedding"): "no training set was given (evaluate --train), or the row "
    "is real vs real",
}


def result_folders(root: str | os.PathLike[str]) -> list[Path]:
    """Folders under ``root`` (a workspace's ``runs/``) holding ``metrics.parquet``, newest first."""
    found = Path(root).glob("*/metrics.parquet")
    return [p.parent for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]


def load_results(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``metrics.parquet`` and, if present, ``pareto.parquet`` of an evaluation.

    Raises
    ------
    ConfigError
        If the folder has no ``metrics.parquet``.
    """
    folder = Path(folder)
    if not (folder / "metrics.parquet").is_file():
        raise ConfigError(f"no metrics.parquet in {folder}; run `galaxysd evaluate` first")
    metrics = pd.read_parquet(folder / "metrics.parquet")
    pareto = (
        pd.read_parquet(folder / "pareto.parquet")
        if (folder / "pareto.parquet").is_file()
        else None
    )
    return metrics, pareto


def trend(metrics: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, float | None]:
    """The prompt-mean of ``metric`` per checkpoint and mode (Fig. 4), and its real-vs-real value.

    Returns
    -------
    lines : pd.DataFrame
        ``step`` (the checkpoint's step, 0 for a lone model), ``mode``, ``value``.
    reference : float or None
        The real-vs-real value, the line to read the others against.
    """
    if metric not in METRIC_COLUMNS:
        raise ConfigError(f"unknown metric {metric!r}; known: {list(METRIC_COLUMNS)}")
    metrics = metrics.reindex(columns=[*metrics.columns.difference([metric]), metric])
    means = metrics[metrics["prompt"] == "ALL"]
    ref = means.loc[means["mode"] == "real-vs-real", metric]
    lines = means[means["mode"] != "real-vs-real"][["step", "mode", metric]].rename(
        columns={metric: "value"}
    )
    lines = lines.assign(step=lines["step"].fillna(0).astype(int)).sort_values(["mode", "step"])
    reference = float(ref.iloc[0]) if len(ref) and pd.notna(ref.iloc[0]) else None
    return lines.reset_index(drop=True), reference


def prompt_table(metrics: pd.DataFrame, *, checkpoint: str | None = None) -> pd.DataFrame:
    """Per-prompt metrics of one checkpoint (default the last) beside the real-vs-real row."""
    runs = metrics[metrics["mode"] != "real-vs-real"]
    if checkpoint is None and len(runs):
        checkpoint = runs.sort_values("step", na_position="first")["checkpoint"].iloc[-1]
    chosen = metrics[(metrics["checkpoint"] == checkpoint) | (metrics["mode"] == "real-vs-real")]
    return (
        chosen.reindex(columns=["prompt", "mode", *METRIC_COLUMNS])  # older results lack columns
        .sort_values(["prompt", "mode"])
        .reset_index(drop=True)
    )


def explain_missing(table: pd.DataFrame) -> list[str]:
    """One line per group of columns with empty cells in ``table``: which, and why."""
    lines = []
    for columns, why in _MISSING.items():
        present = [c for c in columns if c in table]
        empty = [c for c in present if table[c].isna().any()]
        if empty:
            rows = int(table[empty].isna().any(axis=1).sum())
            lines.append(f"{', '.join(empty)} empty in {rows} of {len(table)} rows: {why}")
    return lines


def load_physical(folder: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """The physical judges' tables of an evaluation, where written.

    Returns
    -------
    dict
        Any of ``morphology`` (per image), ``distances`` (per statistic,
        with intervals) and ``pairs`` (closest generated-training pairs).
    """
    names = {"morphology": "morphology", "distances": "morphology_distances",
             "pairs": "closest_pairs"}  # fmt: skip
    folder = Path(folder)
    return {
        key: pd.read_parquet(folder / f"{name}.parquet")
        for key, name in names.items()
        if (folder / f"{name}.parquet").is_file()
    }


def distance_summary(distances: pd.DataFrame, *, checkpoint: str | None = None) -> pd.DataFrame:
    """Per prompt and mode, each statistic's distance as "d [low-high]"; real vs real included."""
    runs = distances[distances["mode"] != "real-vs-real"]
    if checkpoint is None and len(runs):
        checkpoint = runs["checkpoint"].iloc[-1]
    chosen = distances[
        (distances["checkpoint"] == checkpoint) | (distances["mode"] == "real-vs-real")
    ]
    cells = chosen.assign(
        value=[f"{d:.3f} [{lo:.3f}-{hi:.3f}]" for d, lo, hi in
               zip(chosen["distance"], chosen["low"], chosen["high"], strict=True)]
    )  # fmt: skip
    order = list(dict.fromkeys(chosen["statistic"]))
    wide = cells.pivot_table(index=["prompt", "mode"], columns="statistic", values="value",
                             aggfunc="first")  # fmt: skip
    return wide.reindex(columns=order).reset_index()


def compose_preset(point: dict[str, Any] | pd.Series) -> dict[str, Any]:
    """The Compose settings of one sweep point (stored in the Compose preset key)."""
    p = dict(point)
    return {
        "prompt": str(p["prompt_text"]),
        "guidance": float(p["guidance"]),
        "strength": float(p["strength"]),
        "steps": int(p["steps"]),
        "scheduler": str(p.get("scheduler", "euler_a")),
        "reference": "auto",
        "source": f"Pareto point {p.get('prompt', '')}",
    }
