"""Memorisation: is a generated galaxy a copy of a training image?

For each generated image, the distance to its nearest training image; the
same for held-out real images (never trained on), which say how close an
honest *new* galaxy of the same population comes to the training set. A
generated image closer to a training image than *any* held-out real image is
a copy candidate; the share of such images is the copy score (0 for a model
that does not memorise; Carlini et al. 2023 and Somepalli et al. 2023 use the
same nearest-neighbour reading). Two spaces:

- ``pixel``: RGB resized to 32 x 32, Euclidean distance (exact copies);
- ``embedding``: the SimCLR encoder's cosine distance (copies up to the
  augmentations it ignores: flips, rotations, small shifts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.errors import ConfigError

#: Side of the images compared in pixel space.
PIXEL_SIZE = 32
_BLOCK = 256


def pixel_features(images: Sequence[Any], *, size: int = PIXEL_SIZE) -> np.ndarray:
    """RGB pixels in [0, 1], resized to ``size`` x ``size`` and flattened, one row per image."""
    from PIL import Image

    rows = []
    for image in images:
        if isinstance(image, Image.Image):
            im = image.convert("RGB")
        else:
            with Image.open(image) as opened:
                im = opened.convert("RGB")
        im = im.resize((size, size), Image.Resampling.BILINEAR)
        rows.append(np.asarray(im, dtype=np.float32).ravel() / 255.0)
    return np.stack(rows) if rows else np.zeros((0, size * size * 3), np.float32)


def nearest(
    query: np.ndarray, reference: np.ndarray, *, metric: str = "euclidean"
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to and index of each query row's nearest reference row.

    Parameters
    ----------
    query, reference : np.ndarray, shape (n, d) and (m, d)
    metric : {"euclidean", "cosine"}
        ``cosine`` is 1 - cosine similarity.

    Raises
    ------
    ConfigError
        For an unknown metric, an empty reference or mismatched widths.
    """
    if metric not in ("euclidean", "cosine"):
        raise ConfigError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
    if len(reference) == 0 or query.shape[1:] != reference.shape[1:]:
        raise ConfigError(
            f"nearest: need a non-empty reference of the query's width, got {reference.shape} "
            f"for queries {query.shape}"
        )
    q, r = query.astype(np.float32), reference.astype(np.float32)
    if metric == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        r = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)
    r2 = (r * r).sum(axis=1)
    dist, index = np.empty(len(q)), np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), _BLOCK):
        block = q[start : start + _BLOCK]
        d2 = (block * block).sum(axis=1)[:, None] + r2[None, :] - 2.0 * block @ r.T
        i = np.argmin(d2, axis=1)
        # The expansion above cancels catastrophically for near-identical rows
        # (an exact copy came out 0.003 apart with one BLAS build), so the
        # winner's distance is measured directly: a copy is 0.
        best = np.square(block - r[i]).sum(axis=1, dtype=np.float64)
        index[start : start + len(block)] = i
        # cosine distance = |a - b|^2 / 2 for unit vectors
        dist[start : start + len(block)] = best / 2 if metric == "cosine" else np.sqrt(best)
    return dist, index


class CopyReference:
    """A training set in pixel (and embedding) space with the held-out thresholds.

    Parameters
    ----------
    train : sequence of str
        Training image files.
    heldout : sequence of str
        Real image files never trained on (the same population).
    train_emb, heldout_emb : np.ndarray, optional
        Their embeddings, rows in file order; without them only the pixel
        space is checked.

    Raises
    ------
    ConfigError
        If either set is empty.
    """

    def __init__(
        self,
        train: Sequence[str],
        heldout: Sequence[str],
        *,
        train_emb: np.ndarray | None = None,
        heldout_emb: np.ndarray | None = None,
    ) -> None:
        if len(train) == 0 or len(heldout) == 0:
            raise ConfigError(
                f"copy check: need training and held-out images, got {len(train)} and {len(heldout)}"
            )
        self.paths = [str(p) for p in train]
        self.spaces: dict[str, tuple[np.ndarray, str]] = {
            "pixel": (pixel_features(self.paths), "euclidean")
        }
        held = {"pixel": pixel_features(heldout)}
        if train_emb is not None and heldout_emb is not None:
            self.spaces["embedding"] = (train_emb, "cosine")
            held["embedding"] = heldout_emb
        #: per space, the smallest held-out-to-training distance
        self.threshold = {
            space: float(nearest(held[space], feats, metric=metric)[0].min())
            for space, (feats, metric) in self.spaces.items()
        }

    def check(
        self,
        images: Sequence[Any],
        *,
        emb: np.ndarray | None = None,
        records: list[dict[str, Any]] | None = None,
    ) -> dict[str, float]:
        """``copy_<space>``: the share of ``images`` closer to a training image than any held-out one.

        Each of ``records`` (one dict per image) gains ``<space>_train`` (the
        nearest training file) and ``<space>_distance``.
        """
        queries = {"pixel": pixel_features(images), "embedding": emb}
        out = {}
        for space, (feats, metric) in self.spaces.items():
            if queries[space] is None:
                continue
            dist, index = nearest(queries[space], feats, metric=metric)
            for record, d, i in zip(records or [], dist, index, strict=False):
                record[f"{space}_train"], record[f"{space}_distance"] = self.paths[i], float(d)
            out[f"copy_{space}"] = float(np.mean(dist < self.threshold[space]))
        return out

    def closest_pairs(self, records: pd.DataFrame, *, k: int = 8) -> pd.DataFrame:
        """Per space, the ``k`` records (from :meth:`check`) nearest to a training image.

        Returns
        -------
        pd.DataFrame
            ``space``, ``generated``, ``train``, ``distance``, ``threshold``,
            ``copy`` (closer than every held-out image), ``prompt``; nearest first.
        """
        parts = []
        for space, limit in self.threshold.items():
            near = records.nsmallest(k, f"{space}_distance")
            parts.append(
                pd.DataFrame(
                    {
                        "space": space,
                        "generated": near["path"],
                        "train": near[f"{space}_train"],
                        "distance": near[f"{space}_distance"],
                        "threshold": limit,
                        "copy": near[f"{space}_distance"] < limit,
                        "prompt": near.get("prompt"),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)
