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
        chosen[["prompt", "mode", *METRIC_COLUMNS]]
        .sort_values(["prompt", "mode"])
        .reset_index(drop=True)
    )


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
