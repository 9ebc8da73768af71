"""Consistency with the prompt (Sec. 4.1, Eq. 5-6) and Pareto fronts (Fig. 5).

Consistency asks binary feature classifiers Q_i ("is there a bar?") about each
generated image Y_j and compares their answers with the answers A_i the prompt
implies. Eq. 5: C_p = (1/N) sum_j (1/Q_j) sum_i 1[Q_i(Y_j) = A_i], where the
inner sum runs over the Q_j classifiers applicable to image j: a classifier is
applicable only where its question is on the prompt's path in the GZ2 tree
("how tightly wound are the arms?" means nothing for a smooth galaxy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from galaxysd_core.metrics.similarity import EmbeddingError


def _as_bool(x: np.ndarray, *, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == bool:
        return arr
    if not np.issubdtype(arr.dtype, np.number):
        raise EmbeddingError(f"{name} must be boolean, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        raise EmbeddingError(f"{name} contains NaN; it must be boolean (0/1)")
    values = np.unique(arr)
    if not np.isin(values, (0, 1)).all():
        raise EmbeddingError(
            f"{name} must be boolean (0/1), got values such as {values[~np.isin(values, (0, 1))][:3]}"
        )
    return arr.astype(bool)


def consistency_per_image(
    pred: np.ndarray, truth: np.ndarray, *, applicable: np.ndarray | None = None
) -> np.ndarray:
    """The inner term of Eq. 5 per image: the share of applicable classifiers agreeing.

    Parameters
    ----------
    pred : np.ndarray of bool, shape (N, Q)
        Classifier answers Q_i(Y_j) for N images and Q classifiers.
    truth : np.ndarray of bool, shape (N, Q) or (Q,)
        The answers A_i the prompt implies (a 1-D row is broadcast over images).
    applicable : np.ndarray of bool, shape (N, Q) or (Q,), optional
        Which classifiers apply to each image; all by default.

    Returns
    -------
    np.ndarray of float64, shape (N,)
        Agreement in [0, 1]; NaN for an image with no applicable classifier.

    Raises
    ------
    EmbeddingError (a ValueError)
        On empty or non-boolean input, or shapes that do not match.
    """
    p = _as_bool(pred, name="pred")
    if p.ndim != 2 or p.size == 0:
        raise EmbeddingError(
            f"pred must be a non-empty 2-D array (images x classifiers), got {p.shape}"
        )
    t = _as_bool(truth, name="truth")
    mask = np.ones_like(p) if applicable is None else _as_bool(applicable, name="applicable")
    for name, arr in (("truth", t), ("applicable", mask)):
        try:
            np.broadcast_to(arr, p.shape)
        except ValueError:
            raise EmbeddingError(
                f"{name} has shape {arr.shape}, which does not match pred's {p.shape}"
            ) from None
    mask = np.broadcast_to(mask, p.shape)
    agree = (p == t) & mask
    n_applicable = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_applicable > 0, agree.sum(axis=1) / n_applicable, np.nan)


def consistency(
    pred: np.ndarray, truth: np.ndarray, *, applicable: np.ndarray | None = None
) -> float:
    """Consistency of one prompt's generated images with the prompt (Eq. 5).

    Parameters
    ----------
    pred : np.ndarray of bool, shape (N, Q)
        Classifier answers for N images and Q classifiers.
    truth : np.ndarray of bool, shape (N, Q) or (Q,)
        The answers the prompt implies.
    applicable : np.ndarray of bool, shape (N, Q) or (Q,), optional
        Which classifiers apply (their question is on the prompt's GZ2 path);
        all by default. Images with no applicable classifier are left out of
        the mean.

    Returns
    -------
    float
        C_p in [0, 1].

    Raises
    ------
    EmbeddingError (a ValueError)
        On empty, non-boolean or mismatched input, or when no classifier
        applies to any image.
    """
    per_image = consistency_per_image(pred, truth, applicable=applicable)
    if np.isnan(per_image).all():
        raise EmbeddingError("no classifier is applicable to any image; consistency is undefined")
    return float(np.nanmean(per_image))


def pareto_front(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Mark the non-dominated rows (the Pareto front of Fig. 5).

    Row a dominates row b when a is at least as good in every column and
    strictly better in one; "good" is larger for columns with ``maximize``
    True and smaller otherwise (realism up, diversity score down). Identical
    rows do not dominate each other, so both stay on the front.

    Parameters
    ----------
    points : np.ndarray, shape (n, d)
        One row per setting, one column per objective.
    maximize : sequence of bool, length d
        Per column, whether larger is better.

    Returns
    -------
    np.ndarray of bool, shape (n,)
        True where the row is on the front.

    Raises
    ------
    EmbeddingError (a ValueError)
        On empty points, NaN/inf, or ``maximize`` of the wrong length.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] == 0:
        raise EmbeddingError(f"points must be a non-empty 2-D array, got shape {pts.shape}")
    if len(maximize) != pts.shape[1]:
        raise EmbeddingError(
            f"maximize has {len(maximize)} entries but points have {pts.shape[1]} columns"
        )
    if not np.isfinite(pts).all():
        raise EmbeddingError("points contain NaN or infinite values")
    sign = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    good = pts * sign  # now larger is better in every column
    front = np.ones(len(good), dtype=bool)
    # Chunk the n x n comparison so memory stays bounded for large sweeps.
    step = max(1, 2**22 // (len(good) * good.shape[1]))
    for start in range(0, len(good), step):
        cand = good[start : start + step, None, :]  # (c, 1, d)
        ge = (good[None, :, :] >= cand).all(axis=2)
        gt = (good[None, :, :] > cand).any(axis=2)
        front[start : start + step] = ~(ge & gt).any(axis=1)
    return front
