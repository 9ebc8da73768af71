"""The physical judges of one evaluation: statmorph distances and the copy check, with their files.

:class:`PhysicalJudges` holds what an evaluation needs beside the embedding
metrics: the morphology of the real galaxies (measured once, cached), one
yardstick per statistic (the real set's spread), the training set of the
memorisation check, and the rows it writes as ``morphology.parquet``,
``morphology_distances.parquet`` and ``closest_pairs.parquet``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.images import image_files
from galaxysd_core.metrics.config import EvaluateConfig, MorphologyConfig
from galaxysd_core.metrics.morphology import (
    cached_morphology_table,
    distance_table,
    failure_counts,
    morphology_table,
    real_halves,
    real_scale,
)
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)


class PhysicalJudges:
    """Physical statistics and copy shares of an evaluation's generated sets.

    Parameters
    ----------
    config : EvaluateConfig
        ``morphology``, ``morph_size``, ``train``, ``max_train``, ``seed``, ``device``.
    real_paths : list of str
        The real images the evaluation uses (the held-out set of the copy check).
    real_emb : np.ndarray
        Their SimCLR embeddings, rows in the same order.
    encoder_dir : Path
        The encoder that made ``real_emb`` (embeds the training set the same way).
    cache_dir : Path
        The workspace cache (real morphology, training embeddings).
    """

    def __init__(
        self,
        config: EvaluateConfig,
        real_paths: list[str],
        real_emb: np.ndarray,
        *,
        encoder_dir: Path,
        cache_dir: Path,
    ) -> None:
        self.config = config
        self.morph_rows: list[pd.DataFrame] = []
        self.distances: list[pd.DataFrame] = []
        self.real = None
        if config.morphology:
            log.info("measuring the morphology of %d real galaxies", len(real_paths))
            table = cached_morphology_table(real_paths, cache_dir=cache_dir, size=config.morph_size)
            self.real = table.assign(path=real_paths).set_index("path", drop=False)
            self.scale = real_scale(table)  # one yardstick for every prompt's distances
        self.copy = None
        if config.train is not None:
            self.copy = self._copy_reference(real_paths, real_emb, encoder_dir, cache_dir)

    def _copy_reference(
        self, heldout: list[str], emb: np.ndarray, encoder_dir: Path, cache_dir: Path
    ) -> Any:
        from galaxysd_core.embedding.cache import cached_embeddings
        from galaxysd_core.gz2.folders import real_table
        from galaxysd_core.metrics.memorisation import CopyReference

        c = self.config
        train = real_table(c.train)["path"].to_numpy()
        if len(train) > c.max_train:
            train = np.random.default_rng(c.seed).choice(train, c.max_train, replace=False)
        train = sorted(set(train) - set(heldout))  # a shared image would make every threshold 0
        log.info("memorisation check against %d training images", len(train))
        train_emb = None
        if train:
            train_emb = cached_embeddings(
                train, encoder_dir=encoder_dir, cache_dir=cache_dir, device=c.device
            )
        return CopyReference(train, heldout, train_emb=train_emb, heldout_emb=emb)

    def _distances(
        self, letter: str, real: pd.DataFrame, generated: pd.DataFrame, meta: dict[str, Any]
    ) -> dict[str, Any]:
        table = distance_table(real, generated, scale=self.scale, seed=self.config.seed)
        if meta.pop("record", True):  # sweep points stay out of the per-prompt tables
            self.distances.append(table.assign(prompt=letter, **meta))
        d = table.set_index("statistic")
        out = {f"w_{s}": float(d.loc[s, "distance"]) for s in d.index if s != "mean"}
        out["physical"] = float(d.loc["mean", "distance"])
        out["physical_low"], out["physical_high"] = (
            float(d.loc["mean", "low"]),
            float(d.loc["mean", "high"]),
        )
        out["morph_failed"] = float(generated["flag"].mean()) if len(generated) else float("nan")
        return out

    def real_vs_real(self, letter: str, real_paths: list[str]) -> dict[str, Any]:
        """The floor: two disjoint halves of the prompt's real galaxies; records their rows."""
        if self.real is None or len(real_paths) < 2:
            return {}
        meta = {"checkpoint": "real", "step": None, "mode": "real-vs-real"}
        real = self.real.loc[real_paths].reset_index(drop=True)
        self.morph_rows.append(real.assign(prompt=letter, **meta))
        return self._distances(letter, *real_halves(real, seed=self.config.seed), dict(meta))

    def judge(
        self,
        letter: str,
        real_paths: list[str],
        images: list[Any],
        *,
        emb: np.ndarray,
        records: list[dict[str, Any]],
        meta: dict[str, Any],
        record: bool = True,
    ) -> dict[str, Any]:
        """``physical``, ``w_<statistic>``, ``morph_failed``, ``copy_<space>`` of one generated set.

        ``records`` (one dict per image, as in ``images.parquet``) gain each
        image's nearest training image; ``record`` False (sweep points) keeps
        the set out of the per-image and per-prompt tables.
        """
        out: dict[str, Any] = {}
        if self.real is not None:
            morph = morphology_table(images, size=self.config.morph_size)
            if record:
                paths = [r["path"] for r in records]
                self.morph_rows.append(morph.assign(path=paths, prompt=letter, **meta))
            if len(real_paths):
                real = self.real.loc[real_paths].reset_index(drop=True)
                out.update(self._distances(letter, real, morph, {**meta, "record": record}))
        if self.copy is not None:
            out.update(self.copy.check(images, emb=emb, records=records))
        return out

    def write(self, out: Path, images: pd.DataFrame, write_parquet: Any) -> None:
        """Write the per-image, per-statistic and closest-pair tables (where measured)."""
        if self.morph_rows:
            morph = pd.concat(self.morph_rows, ignore_index=True)
            write_parquet(
                morph.assign(step=morph["step"].astype(float)), out / "morphology.parquet"
            )
            for _, row in failure_counts(morph, by="prompt").iterrows():
                log.info(
                    "statmorph failures, prompt %s: %d x %s",
                    row["prompt"],
                    row["images"],
                    row["reason"],
                )
        if self.distances:
            dist = pd.concat(self.distances, ignore_index=True)
            write_parquet(
                dist.assign(step=dist["step"].astype(float)), out / "morphology_distances.parquet"
            )
        if self.copy is not None and len(images):
            write_parquet(self.copy.closest_pairs(images), out / "closest_pairs.parquet")


def compare_folders(
    config: MorphologyConfig, *, progress: Progress | None = None
) -> dict[str, pd.DataFrame]:
    """Measure ``config.images`` (and ``config.real``): ``galaxysd morphology``.

    Returns
    -------
    dict
        ``images``: one row per image (statistics, ``flag``, ``reason``,
        ``path``), also written to ``config.out`` when given; with ``real``,
        ``distances``: per statistic, the distance, ``low`` and ``high`` of the
        images and of the real-vs-real floor (columns ``(value, pair)``).
    """

    def measure(folder: Path) -> pd.DataFrame:
        files = image_files(folder, require=True, recursive=True)
        table = morphology_table(files, size=config.size, workers=config.workers, progress=progress)
        return table.assign(path=[str(f) for f in files])

    found = {"images": measure(config.images)}
    if config.out:
        out = str(config.out)
        write = found["images"].to_csv if out.endswith(".csv") else found["images"].to_parquet
        write(out, index=False)
    if config.real:
        real = measure(config.real)
        scale = real_scale(real)
        table = distance_table(real, found["images"], scale=scale).assign(pair="images vs real")
        floor = distance_table(*real_halves(real), scale=scale).assign(pair="real vs real")
        both = pd.concat([table, floor]).pivot(index="statistic", columns="pair")
        found["distances"] = both.reindex(table["statistic"])
    return found
